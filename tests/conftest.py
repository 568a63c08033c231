import os, shutil, subprocess, sys
from pathlib import Path
import pytest
from tlbench.data import samples_dir

TLBENCH = Path(sys.executable).parent/'tlbench'


@pytest.fixture
def run_cli(tmp_path):
    "Run the installed `tlbench` command; returns the CompletedProcess (text output)."
    def run(*args, timeout=300, env=None):
        e = {**os.environ, 'TLBENCH_CACHE': str(tmp_path/'cache'), 'HF_HUB_OFFLINE': '1', **(env or {})}
        return subprocess.run([str(TLBENCH), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=e)
    return run


@pytest.fixture
def tiny_tree(tmp_path):
    "Three classes of UCI digits, 20 images each, as class folders."
    root = tmp_path/'tiny'
    for c in ('0', '1', '7'):
        (root/c).mkdir(parents=True)
        for p in sorted((samples_dir()/'digits'/c).iterdir())[:20]: shutil.copy(p, root/c/p.name)
    return root
