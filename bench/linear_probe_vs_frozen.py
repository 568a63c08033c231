"""Linear probe on cached features vs fastai frozen-body training, same data, head, epochs and seed, in one process.

The baseline is what a fastai user writes: `learn.freeze()` then `fit_one_cycle(epochs)` (by default fastai keeps the
BatchNorm layers of a frozen body training). A second baseline also freezes BatchNorm (`train_bn=False` + `BnFreeze`),
which computes exactly what the probe computes, so its accuracy shows the probe loses nothing.
The probe's time includes extracting the features (a cold cache).

    python bench/linear_probe_vs_frozen.py [--epochs 5] [--size 64] [--budget all] [--seeds 0,1,2]

Times are summed and accuracies averaged over the seeds; each seed draws its own subset and head init.
"""
import argparse, json, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated')
import numpy as np, torch
from fastai.vision.all import Learner, CrossEntropyLossFlat, accuracy, Adam, set_seed, BnFreeze
from tlbench.data import samples_dir, list_items, apply_budget
from tlbench.backbones import load_backbone
from tlbench.transfer import TransferConfig, FeatureCache, linear_probe, classifier_model, transfer_splitter, _dls


def frozen_body(items, cfg, seed, freeze_bn):
    "fastai frozen-body training of the same model and head, no augmentation."
    t0 = time.time(); set_seed(seed, reproducible=True)
    bb = load_backbone(cfg.backbone)
    dls = _dls(items, cfg, bb, seed, 'none')
    learn = Learner(dls, classifier_model(bb, len(dls.vocab)), loss_func=CrossEntropyLossFlat(), metrics=accuracy, opt_func=Adam,
                    splitter=transfer_splitter(cfg.n_groups), train_bn=not freeze_bn, cbs=[BnFreeze()] if freeze_bn else [])
    learn.remove_cbs(learn.progress)
    learn.freeze()
    with learn.no_logging(): learn.fit_one_cycle(cfg.epochs, cfg.lr)
    return dict(seconds=time.time() - t0, accuracy=float(learn.validate()[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--epochs', type=int, default=5); ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--budget', default='all'); ap.add_argument('--seeds', default='0,1,2')
    ap.add_argument('--device', default='auto'); ap.add_argument('--out', type=Path, default=Path(__file__).parent/'results')
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(',')]
    runs = {k: [] for k in ('linear_probe', 'frozen_fastai', 'frozen_bn_eval')}
    for seed in seeds:
        items = apply_budget(list_items(samples_dir()/'fashion'), a.budget, seed)
        cfg = TransferConfig(epochs=a.epochs, size=a.size, lr=1e-2, device=a.device, cache=FeatureCache())  # cold, in-memory cache
        print(f'seed {seed}: {int((~items.is_valid).sum())} training / {int(items.is_valid.sum())} validation images, {a.size} px, {a.epochs} epochs, torch threads {torch.get_num_threads()}')
        t0 = time.time(); lp = linear_probe(items, cfg, seed)
        runs['linear_probe'].append(dict(seconds=time.time() - t0, accuracy=lp.record['accuracy']))
        runs['frozen_fastai'].append(frozen_body(items, cfg, seed, freeze_bn=False))
        runs['frozen_bn_eval'].append(frozen_body(items, cfg, seed, freeze_bn=True))
        for k, v in runs.items(): print(f'  {k:15s} {v[-1]["seconds"]:7.2f} s  accuracy {v[-1]["accuracy"]:.4f}')
    res = {k: dict(seconds=sum(r['seconds'] for r in v), accuracy_mean=float(np.mean([r['accuracy'] for r in v])),
                   accuracy_std=float(np.std([r['accuracy'] for r in v])), per_seed=v) for k, v in runs.items()}
    lp = res['linear_probe']
    for k in ('frozen_fastai', 'frozen_bn_eval'):
        res[k]['speedup_of_probe'] = res[k]['seconds'] / lp['seconds']
        res[k]['probe_minus_this_points'] = 100 * (lp['accuracy_mean'] - res[k]['accuracy_mean'])
    res['setup'] = dict(vars(a), out=str(a.out), device=str(torch.device('cuda' if torch.cuda.is_available() and a.device != 'cpu' else 'cpu')))
    print('\nover seeds', seeds)
    for k, v in res.items():
        print(f'{k:15s}', {kk: round(vv, 4) if isinstance(vv, float) else vv for kk, vv in v.items() if kk != 'per_seed'})
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out/'linear_probe_vs_frozen.json').write_text(json.dumps(res, indent=2))


if __name__ == '__main__': main()
