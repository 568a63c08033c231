"The shipped data_samples/ are exactly what tlbench.data builds from package-shipped sources."
import os
import pytest
from tlbench.data import build_mnist, build_uci_digits, build_fashion, build_photos, samples_dir, image_tree_differences, FASHION_SOURCE

# CI installs the Debian package and sets this, so that a missing source fails there instead of skipping
REQUIRE_FASHION = os.environ.get('TLBENCH_REQUIRE_FASHION') == '1'


def test_digits_and_photos_rebuild_identically(tmp_path):
    for name, build in (('mnist', build_mnist), ('digits', build_uci_digits)):
        build(tmp_path/name)
        assert image_tree_differences(tmp_path/name, samples_dir()/name) == [], name
    build_photos(tmp_path/'photos')
    # JPEG decoders may differ by a level here and there; the photos must still be the same pictures
    assert image_tree_differences(tmp_path/'photos', samples_dir()/'photos', tol=1.0) == []


@pytest.mark.skipif(not FASHION_SOURCE.exists() and not REQUIRE_FASHION, reason=f"Fashion-MNIST source missing at {FASHION_SOURCE}: apt-get install dataset-fashion-mnist")
def test_fashion_rebuilds_identically(tmp_path):
    build_fashion(tmp_path/'fashion')
    assert image_tree_differences(tmp_path/'fashion', samples_dir()/'fashion') == []


def test_data_samples_size_and_counts():
    root = samples_dir()
    counts = {d: sum(1 for p in (root/d).rglob('*') if p.is_file()) for d in ('mnist', 'digits', 'fashion', 'photos')}
    assert counts == {'mnist': 1000, 'digits': 1000, 'fashion': 2000, 'photos': 9}
    blocks = sum(-(-p.stat().st_size // 4096) * 4 for p in root.rglob('*') if p.is_file())  # KiB, 4 KiB blocks as du counts them
    assert blocks < 20 * 1024, f'data_samples takes {blocks} KiB on a 4 KiB-block disk; keep it under 20 MB'
