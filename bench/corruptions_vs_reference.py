"""tlbench's batched corruptions vs the reference `imagecorruptions` (looped per image, as users run it): speed and agreement.

Speed: the full 19 x 5 suite on one batch of 64 real images at 224 px (the 9 shipped photos and seeded crops of them),
the same images for both, one run each, timed per corruption; tlbench on the device given (CPU by default).
Agreement: a fixed model (a linear probe on the Fashion sample, 64 px) scored on its validation images corrupted by each
implementation, every corruption and severity; the accuracies should differ by under 2 points.

    python bench/corruptions_vs_reference.py [--n 64] [--size 224] [--device cpu] [--acc-images 400] [--skip-speed] [--skip-accuracy]

Speed goes to results/corruptions_vs_reference[_cuda].json, agreement to results/corruptions_accuracy_vs_reference.json.
"""
import argparse, json, sys, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')
import numpy as np, pandas as pd, torch
from PIL import Image
sys.path.insert(0, str(Path(__file__).parent.parent/'tests'))
import imagecorruptions_ref
from tlbench.data import samples_dir, list_items
from tlbench.shift import CORRUPTIONS, corrupt, clean_batches


def images(n, size, seed=0):
    "The photos resized, then random square crops of them (seeded), all at `size`: (n, size, size, 3) uint8."
    photos = [Image.open(p).convert('RGB') for p in sorted((samples_dir()/'photos').glob('*.jpg'))]
    rng, out = np.random.default_rng(seed), [p.resize((size, size)) for p in photos]
    while len(out) < n:
        p = photos[rng.integers(len(photos))]; s = int(rng.uniform(0.4, 0.9) * min(p.size))
        x, y = rng.integers(p.size[0] - s + 1), rng.integers(p.size[1] - s + 1)
        out.append(p.crop((x, y, x + s, y + s)).resize((size, size)))
    return np.stack([np.array(im) for im in out[:n]])


def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def speed(imgs, device):
    "Seconds per corruption (all five severities) for tlbench on the batch and the reference looped over the images."
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).to(device)
    corrupt(x[:2], 'gaussian_noise', 1); corrupt(x[:2], 'defocus_blur', 1); sync(device)  # lazy initialisation is not a corruption's cost
    rows = []
    for name in CORRUPTIONS:
        t0 = time.perf_counter()
        for s in range(1, 6): corrupt(x, name, s, seed=s)
        sync(device); ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        for s in range(1, 6):
            for i, im in enumerate(imgs): imagecorruptions_ref.reference(im, name, s, seed=i)
        ref = time.perf_counter() - t0
        rows.append(dict(corruption=name, tlbench_s=ours, reference_s=ref, ratio=ref / ours))
        print(f'{name:18s} tlbench {ours:7.2f} s   reference {ref:7.2f} s   {ref / ours:6.1f}x', flush=True)
    return pd.DataFrame(rows)


def agreement(n_images):
    "Accuracy of a fixed model under each corruption and severity, images corrupted by tlbench and by the reference."
    from tlbench.transfer import TransferConfig, get_strategy
    items = list_items(samples_dir()/'fashion')
    trained = get_strategy('linear-probe')(items, TransferConfig(size=64, epochs=5), seed=0, budget='all')
    meta = dict(classes=trained.vocab, **trained.pipeline)
    batches = clean_batches(items[items.is_valid], meta, bs=100, max_images=n_images)
    mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in (meta['mean'], meta['std']))
    model = trained.model.eval()
    @torch.no_grad()
    def correct(x, y): return (model((x.float() / 255 - mean) / std).argmax(1) == y).sum().item()
    n = sum(len(y) for _, y in batches)
    rows = []
    for name in CORRUPTIONS:
        for s in range(1, 6):
            a = sum(correct(corrupt(x, name, s, seed=i), y) for i, (x, y) in enumerate(batches)) / n
            b = sum(correct(torch.from_numpy(np.stack([imagecorruptions_ref.reference(im, name, s, seed=1000 * i + j)
                                                       for j, im in enumerate(x.permute(0, 2, 3, 1).numpy())])).permute(0, 3, 1, 2), y)
                    for i, (x, y) in enumerate(batches)) / n
            rows.append(dict(corruption=name, severity=s, tlbench=a, reference=b))
        d = pd.DataFrame(rows); d = d[d.corruption == name]
        print(f'{name:18s} accuracy over severities: tlbench {d.tlbench.mean():.3f}  reference {d.reference.mean():.3f}  difference {d.tlbench.mean() - d.reference.mean():+.3f}', flush=True)
    return pd.DataFrame(rows), n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=64); ap.add_argument('--size', type=int, default=224); ap.add_argument('--device', default='cpu')
    ap.add_argument('--acc-images', type=int, default=400)
    ap.add_argument('--skip-speed', action='store_true'); ap.add_argument('--skip-accuracy', action='store_true')
    ap.add_argument('--out', type=Path, default=Path(__file__).parent/'results')
    a = ap.parse_args()
    if imagecorruptions_ref.load() is None: sys.exit('the reference package is missing: pip install --no-deps imagecorruptions==1.1.2')
    a.out.mkdir(parents=True, exist_ok=True)
    device = torch.device(a.device)
    if not a.skip_speed:
        imgs = images(a.n, a.size)
        print(f'{len(imgs)} images at {a.size} px; tlbench on {device}' + (f' ({torch.cuda.get_device_name(device)})' if device.type == 'cuda' else f', {torch.get_num_threads()} torch threads'))
        sp = speed(imgs, device)
        total = dict(tlbench_s=sp.tlbench_s.sum(), reference_s=sp.reference_s.sum())
        total['ratio'] = total['reference_s'] / total['tlbench_s']
        print(f"total: tlbench {total['tlbench_s']:.1f} s, reference {total['reference_s']:.1f} s: {total['ratio']:.1f}x faster")
        res = dict(images=len(imgs), size=a.size, device=str(device), threads=torch.get_num_threads(), total=total, per_corruption=sp.round(4).to_dict('records'))
        (a.out/('corruptions_vs_reference' + ('' if device.type == 'cpu' else f'_{device.type}') + '.json')).write_text(json.dumps(res, indent=2))
    if not a.skip_accuracy:
        acc, n = agreement(a.acc_images)
        per = acc.groupby('corruption', sort=False)[['tlbench', 'reference']].mean().assign(difference=lambda d: d.tlbench - d.reference)
        print(f'accuracy over all corruptions and severities: tlbench {acc.tlbench.mean():.4f}, reference {acc.reference.mean():.4f}; '
              f'largest per-corruption difference {per.difference.abs().max():.3f} ({per.difference.abs().idxmax()})')
        res = dict(images=n, mean_tlbench=acc.tlbench.mean(), mean_reference=acc.reference.mean(),
                   per_corruption=per.round(4).reset_index().to_dict('records'), per_severity=acc.round(4).to_dict('records'))
        (a.out/'corruptions_accuracy_vs_reference.json').write_text(json.dumps(res, indent=2))


if __name__ == '__main__': main()
