"""The reference implementation, `imagecorruptions` 1.1.2, made to import on current packages.

Shims for tests and benchmarks only, never for the library:
- it imports `pkg_resources` (gone from setuptools 81+) only for `resource_filename`;
- `plasma_fractal` (fog) uses `np.float_`, removed in numpy 2;
- it calls skimage's `gaussian(..., multichannel=True)`, now `channel_axis=-1`.
"""
import importlib.util, os, sys, types
import numpy as np


def _shim_pkg_resources():
    try: import pkg_resources  # noqa: F401
    except ImportError:
        def resource_filename(package, name): return os.path.join(os.path.dirname(sys.modules[package].__file__), name)
        sys.modules['pkg_resources'] = types.SimpleNamespace(resource_filename=resource_filename)


def load():
    "The `imagecorruptions` package with the shims applied, or None when it or one of its imports is not installed."
    if any(importlib.util.find_spec(m) is None for m in ('imagecorruptions', 'cv2', 'skimage', 'scipy')): return None  # it imports all of them
    _shim_pkg_resources()
    if not hasattr(np, 'float_'): np.float_ = np.float64
    import imagecorruptions, imagecorruptions.corruptions as ic
    from skimage.filters import gaussian
    def gaussian_compat(image, *args, multichannel=None, **kwargs):
        if multichannel: kwargs['channel_axis'] = -1
        return gaussian(image, *args, **kwargs)
    ic.gaussian = gaussian_compat
    return imagecorruptions


def reference(img: np.ndarray, name: str, severity: int, seed: int = 0) -> np.ndarray:
    "One (H, W, 3) uint8 image corrupted by the reference, its global numpy RNG seeded first."
    ic = load()
    np.random.seed(seed)
    return ic.corrupt(img, severity=severity, corruption_name=name)
