"""The explorers in a real IPython kernel, sent what JupyterLab sends: `cell_key` must read the id of the cell being run,
or an explorer whose cell is run again would keep following the panel beside its replacement."""
import os, sys
import pytest
from jupyter_client.manager import KernelManager


def _run(kc, code:str, cell_id:str|None) -> str:
    "Execute `code` as JupyterLab does (the cell id in the request's metadata); its stdout, or fail with its error."
    msg = kc.session.msg('execute_request', dict(code=code, silent=False, store_history=False, user_expressions={},
                                                  allow_stdin=False, stop_on_error=True),
                         metadata={'cellId': cell_id} if cell_id else {})
    kc.shell_channel.send(msg)
    out = []
    while True:
        m = kc.get_iopub_msg(timeout=120)
        if m['parent_header'].get('msg_id') != msg['header']['msg_id']: continue
        kind, content = m['msg_type'], m['content']
        if kind == 'stream': out.append(content['text'])
        elif kind == 'error': pytest.fail('\n'.join(content['traceback']))
        elif kind == 'status' and content['execution_state'] == 'idle': return ''.join(out).strip()


@pytest.fixture
def kernel(tmp_path):
    "A python3 kernel of this interpreter (jupyter_client swaps a spec's `python` for sys.executable); always shut down."
    env = {k: v for k, v in os.environ.items() if k != 'JUPYTER_PATH'}
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path/'runtime'), TLBENCH_CACHE=str(tmp_path/'cache'), HF_HUB_OFFLINE='1')
    km = KernelManager(kernel_name='python3')
    km.start_kernel(env=env)
    kc = km.client(); kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        yield kc
    finally:
        kc.stop_channels(); km.shutdown_kernel(now=True)


def test_cell_key_is_the_jupyterlab_cell_being_run(kernel):
    _run(kernel, 'import sys; from tlbench.widgets import cell_key', 'setup')
    assert _run(kernel, "print(sys.executable)", None) == sys.executable  # this environment's tlbench, not another
    assert _run(kernel, "print(cell_key('CorruptionExplorer'))", 'c7f1') == "('CorruptionExplorer', 'c7f1')"
    assert _run(kernel, "print(cell_key('CorruptionExplorer'))", None) == 'None'  # a frontend that sends no cell id: nothing is replaced
