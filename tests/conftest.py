import logging, os, shutil, subprocess, sys, warnings
from types import SimpleNamespace
from pathlib import Path
import pytest
from tlbench import quiet_known_warnings
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


@pytest.fixture
def run_cli_here(tmp_path, capsys, monkeypatch):
    """Run `tlbench ARGS` inside this process: the same `main`, its exit status and its output, without a new interpreter
    importing torch each time (seconds per call). For the many bad-input checks; whole runs use `run_cli`."""
    from tlbench import cli
    monkeypatch.setenv('TLBENCH_CACHE', str(tmp_path/'cache'))
    log = logging.getLogger('tlbench')
    kept = log.handlers[:], log.propagate, log.level
    monkeypatch.setattr('huggingface_hub.constants.HF_HUB_OFFLINE', True)  # what HF_HUB_OFFLINE=1 gives a new process: read at import, so set here
    def show(message, category, filename, lineno, file=None, line=None):  # as Python prints warnings to a real stderr
        print(warnings.formatwarning(message, category, filename, lineno, line), file=sys.stderr, end='')
    def run(*args):
        cli._log_to_stderr()
        for h in log.handlers: h.setStream(sys.stderr)  # the handler writes to the stream captured now
        capsys.readouterr()
        with warnings.catch_warnings():  # pytest would collect them; the command would print them, breaking its one line
            warnings.resetwarnings(); warnings.simplefilter('default')  # Python's own defaults for a script, as the command runs:
            for quiet in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning): warnings.simplefilter('ignore', quiet)
            quiet_known_warnings()  # as importing tlbench does
            warnings.showwarning = show
            try: code = cli.main([str(a) for a in args])
            except SystemExit as e: code = e.code  # argparse's own usage errors
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)
    yield run
    log.handlers[:], log.propagate = kept[0], kept[1]; log.setLevel(kept[2])
