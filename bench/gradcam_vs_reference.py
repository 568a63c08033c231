"""tlbench Grad-CAM vs pytorch-grad-cam GradCAM: same model, layer, 32 images at 224 px, per-image targets, CPU.

Throughput is measured in this process (one warm-up, then the best of --reps); peak memory in a fresh child process per
implementation (the rise of the resident-set high-water mark during the CAM call), so neither sees the other's allocations.
The maps are also compared, so a speed-up never hides a different answer.

    python bench/gradcam_vs_reference.py [--n 32] [--size 224] [--reps 3]
"""
import argparse, json, resource, subprocess, sys, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated')
import numpy as np, torch
from tlbench.data import samples_dir, list_items
from tlbench.backbones import load_backbone, imagenet_model
from tlbench.gradcam import grad_cam, default_layer, load_images


def setup(n, size):
    "The embedded ImageNet model, a batch of real images (photos, then Fashion-MNIST) and per-image targets."
    bb = load_backbone('efficientnet_lite0')
    model = imagenet_model(bb).eval()
    paths = sorted((samples_dir()/'photos').glob('*.jpg')) + list(list_items(samples_dir()/'fashion').path[:n])
    x, _, _ = load_images(paths[:n], size, bb.mean, bb.std)
    with torch.no_grad(): targets = model(x).topk(2).indices[:, 1]  # the runner-up class: per-image and not just argmax
    return model, x, targets, default_layer(model, x)


def reference(model, x, targets, layer):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    with GradCAM(model=model, target_layers=[model.get_submodule(layer)]) as cam:
        return torch.from_numpy(cam(input_tensor=x, targets=[ClassifierOutputTarget(int(t)) for t in targets]))


def ours(model, x, targets, layer): return grad_cam(model, x, targets, layer)

IMPLS = {'tlbench': ours, 'pytorch-grad-cam': reference}


def worker(name, n, size):
    "In a child process: the rise of peak RSS (MiB) caused by one CAM call."
    model, x, targets, layer = setup(n, size)
    IMPLS[name](model, x[:2], targets[:2], layer)  # warm-up at a tiny size: lazy inits are not the CAM's memory
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    IMPLS[name](model, x, targets, layer)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(dict(peak_rise_mib=(after - before) / 1024, peak_total_mib=after / 1024)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=32); ap.add_argument('--size', type=int, default=224); ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--worker', default=None); ap.add_argument('--out', type=Path, default=Path(__file__).parent/'results')
    a = ap.parse_args()
    if a.worker: return worker(a.worker, a.n, a.size)
    model, x, targets, layer = setup(a.n, a.size)
    print(f'{len(x)} images at {a.size} px, layer {layer}, torch threads {torch.get_num_threads()}')
    res, maps = {}, {}
    for name, f in IMPLS.items():
        f(model, x[:4], targets[:4], layer)
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter(); maps[name] = f(model, x, targets, layer); times.append(time.perf_counter() - t0)
        mem = json.loads(subprocess.run([sys.executable, __file__, '--worker', name, '--n', str(a.n), '--size', str(a.size)],
                                        capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        res[name] = dict(seconds=min(times), images_per_second=len(x) / min(times), **mem)
        print(f"{name:17s} {res[name]['images_per_second']:7.1f} img/s   peak memory rise {mem['peak_rise_mib']:7.1f} MiB (process peak {mem['peak_total_mib']:.0f} MiB)")
    res['throughput_ratio'] = res['tlbench']['images_per_second'] / res['pytorch-grad-cam']['images_per_second']
    # same setup in both children, so the process peaks compare the CAM calls (the rise can be 0 when setup's no-grad forward was the peak)
    res['peak_memory_ratio'] = res['tlbench']['peak_total_mib'] / res['pytorch-grad-cam']['peak_total_mib']
    res['max_abs_map_difference'] = (maps['tlbench'] - maps['pytorch-grad-cam']).abs().max().item()
    print(f"throughput ratio {res['throughput_ratio']:.2f}x, process peak memory ratio {res['peak_memory_ratio']:.2f}, max |map difference| {res['max_abs_map_difference']:.1e}")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out/'gradcam_vs_reference.json').write_text(json.dumps(res, indent=2))


if __name__ == '__main__': main()
