"The shipped data_samples/ are exactly what tlbench.data.build_samples makes from package-shipped sources."
import pytest
from tlbench.data import build_samples, samples_dir, image_tree_differences, FASHION_SOURCE


@pytest.mark.skipif(not FASHION_SOURCE.exists(), reason=f"Fashion-MNIST source missing at {FASHION_SOURCE}: apt-get install dataset-fashion-mnist")
def test_data_samples_rebuild_identically(tmp_path):
    build_samples(tmp_path)
    for name in ('mnist', 'digits', 'fashion'):
        assert image_tree_differences(tmp_path/name, samples_dir()/name) == [], name
    # JPEG decoders may differ by a level here and there; the photos must still be the same pictures
    assert image_tree_differences(tmp_path/'photos', samples_dir()/'photos', tol=1.0) == []


def test_data_samples_size_and_counts():
    root = samples_dir()
    counts = {d: sum(1 for p in (root/d).rglob('*') if p.is_file()) for d in ('mnist', 'digits', 'fashion', 'photos')}
    assert counts == {'mnist': 1000, 'digits': 1000, 'fashion': 2000, 'photos': 9}
    blocks = sum(-(-p.stat().st_size // 4096) * 4 for p in root.rglob('*') if p.is_file())  # KiB, 4 KiB blocks as du counts them
    assert blocks < 20 * 1024, f'data_samples takes {blocks} KiB on a 4 KiB-block disk; keep it under 20 MB'
