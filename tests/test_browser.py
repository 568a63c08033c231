"""The workbench in a real browser: JupyterLab on localhost, driven in Debian's chromium by Playwright.

Skipped, with the reason, where chromium or Playwright is missing; CI sets TLBENCH_REQUIRE_BROWSER=1 so that there it fails instead.
Screenshots go to $TLBENCH_TEST_OUTPUT/browser, or the test's temporary folder (printed)."""
import json, os, re, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request, warnings
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get('TLBENCH_CHROMIUM', '/usr/bin/chromium'))
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']

def _unavailable(reason):
    if os.environ.get('TLBENCH_REQUIRE_BROWSER'): pytest.fail(f'{reason} (TLBENCH_REQUIRE_BROWSER is set)')
    pytest.skip(reason)

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _api(base, token, path, method='GET', timeout=5):
    req = urllib.request.Request(f'{base}{path}', method=method, headers={'Authorization': f'token {token}'})
    with urllib.request.urlopen(req, timeout=timeout) as r: return json.loads(r.read() or b'null')

def _shut_kernels(base, token):
    "Shut down the server's kernels: they run in sessions of their own, which a signal to the server's group does not reach."
    try: kernels = _api(base, token, '/api/kernels')
    except OSError: return
    for k in kernels:
        try: _api(base, token, f"/api/kernels/{k['id']}", 'DELETE', timeout=30)
        except OSError: pass

@pytest.fixture
def lab(tmp_path):
    "JupyterLab serving a copy of nbs/workbench.ipynb from a temporary folder, with its own settings; always shut down."
    if not CHROMIUM.exists(): _unavailable(f'chromium not found at {CHROMIUM}: install it with apt-get install chromium')
    try: import playwright.sync_api  # noqa: F401
    except ImportError: _unavailable('Playwright for Python is not installed: pip install playwright')
    work, conf = tmp_path/'lab', tmp_path/'jupyter'
    work.mkdir(); conf.mkdir()
    news = conf/'settings'/'@jupyterlab'/'apputils-extension'/'notification.jupyterlab-settings'
    news.parent.mkdir(parents=True); news.write_text('{"fetchNews": "false"}')  # no "get notified about news?" toast over the page
    shutil.copy(ROOT/'nbs'/'workbench.ipynb', work)  # the browser saves what it runs: never into the repository
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != 'JUPYTER_PATH'}  # the venv's own kernel, not a kernelspec from elsewhere
    env.update(JUPYTER_CONFIG_DIR=str(conf/'config'), JUPYTER_DATA_DIR=str(conf/'data'), JUPYTER_RUNTIME_DIR=str(conf/'runtime'),
               JUPYTERLAB_SETTINGS_DIR=str(conf/'settings'), JUPYTERLAB_WORKSPACES_DIR=str(conf/'workspaces'),
               TLBENCH_CACHE=str(tmp_path/'cache'), TLBENCH_DATA=str(ROOT/'data_samples'), HF_HUB_OFFLINE='1')
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', f'--port={port}', '--ServerApp.ip=127.0.0.1',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={work}', '--ServerApp.port_retries=0',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.news_url=']
    if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')
    log = open(tmp_path/'jupyterlab.log', 'w')
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        for _ in range(240):
            if server.poll() is not None: pytest.fail(f'JupyterLab exited with {server.returncode}: {(tmp_path/"jupyterlab.log").read_text()[-2000:]}')
            try: _api(base, token, '/api/status'); break
            except OSError: time.sleep(0.25)
        else: pytest.fail('JupyterLab did not answer within 60 s')
        yield dict(base=base, token=token, work=work, log=tmp_path/'jupyterlab.log')
    finally:
        _shut_kernels(base, token)
        os.killpg(server.pid, signal.SIGTERM)
        try: server.wait(20)
        except subprocess.TimeoutExpired: os.killpg(server.pid, signal.SIGKILL); server.wait()
        log.close()

def _set(page, name, value):
    "Type `value` into the text box of the panel widget tagged `tlbench-<name>`, as a user would (Tab commits it)."
    box = page.locator(f'.tlbench-{name} input').first
    box.fill(str(value)); box.press('Tab')

def _kernel_ready(lab, timeout:float=120):
    "Wait until the server says the notebook's kernel is idle and the page is connected to it: a run sent earlier can be lost."
    deadline, kernel = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try: sessions = _api(lab['base'], lab['token'], '/api/sessions')
        except OSError: sessions = []
        kernel = next((s['kernel'] for s in sessions if s.get('path', '').endswith('workbench.ipynb') and s.get('kernel')), None)
        if kernel and kernel.get('execution_state') == 'idle' and kernel.get('connections', 0) >= 1: return
        time.sleep(0.5)
    raise AssertionError(f'the workbench kernel was not ready within {timeout:.0f} s: {kernel}')

def _watch_dialogs(page, seen:list):
    "Close any JupyterLab dialog the moment it covers the page (a modal blocks every click), keeping its text in `seen`."
    def close(dialog):
        try: text = ' '.join(dialog.first.inner_text(timeout=2_000).split())
        except Exception: text = '(a dialog that closed before it could be read)'
        seen.append(text)
        accept = dialog.first.locator('.jp-Dialog-button.jp-mod-accept')
        try:
            if accept.count(): accept.first.click(timeout=5_000)
            else: page.keyboard.press('Escape')
        except Exception: page.keyboard.press('Escape')
    page.add_locator_handler(page.locator('.jp-Dialog'), close)

def _run_all_cells(page, tries:int=4):
    "Run > Run All Cells, until a cell has started: a request sent before the kernel is connected can be lost."
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    started = page.locator('.jp-InputPrompt', has_text=re.compile(r'\[(\*|\d+)\]'))
    for _ in range(tries):
        page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
        page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click()
        try: started.first.wait_for(timeout=20_000); return
        except PlaywrightTimeout:
            if page.locator('.lm-Menu').count(): page.keyboard.press('Escape')  # a menu left open
    raise AssertionError(f'Run All Cells did not start any cell in {tries} tries')

def _diagnosis(lab, dialogs) -> str:
    "What to read when the test fails: the dialogs JupyterLab showed and the end of its log."
    log = lab['log'].read_text(errors='replace')[-3000:] if lab['log'].exists() else '(no log)'
    return f"JupyterLab dialogs: {dialogs or 'none'}\nJupyterLab log, last lines:\n{log}"

def test_workbench_trains_and_stops_in_the_browser(lab, tmp_path):
    from playwright.sync_api import sync_playwright, expect
    shots = Path(os.environ.get('TLBENCH_TEST_OUTPUT', tmp_path))/'browser'
    shots.mkdir(parents=True, exist_ok=True)
    print(f'screenshots: {shots}')
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={'width': 1400, 'height': 1800})
        dialogs = []
        _watch_dialogs(page, dialogs)
        try:
            page.goto(f"{lab['base']}/lab/tree/workbench.ipynb?token={lab['token']}")
            page.wait_for_selector('.jp-Notebook', timeout=90_000)
            _kernel_ready(lab)
            _run_all_cells(page)
            start = page.locator('button.tlbench-start')
            expect(start).to_be_visible(timeout=120_000)
            status, rows = page.locator('.tlbench-status'), page.locator('.tlbench-results table tbody tr')
            expect(status).to_have_text('idle')

            # a tiny run, set up through the widgets: a linear probe on the UCI digits, 10 images per class, 32 px
            page.locator('.tlbench-dataset select').select_option(label='digits')
            page.locator('.tlbench-strategy').get_by_role('button', name='linear-probe', exact=True).click()
            _set(page, 'epochs', 2); _set(page, 'size', 32); _set(page, 'budget', 10)
            start.click()
            expect(status).to_have_text('finished', timeout=180_000)
            expect(rows).to_have_count(1, timeout=10_000)
            expect(rows.first).to_contain_text('linear-probe')
            expect(page.locator('.tlbench-progress .progress-bar')).to_have_attribute('style', re.compile(r'(^|;|\s)width: 100%'), timeout=10_000)
            page.locator('.tlbench-curves').scroll_into_view_if_needed()
            page.screenshot(path=str(shots/'1-finished.png'), full_page=True)

            # a long run, stopped from the page: it ends within seconds and still adds its row
            page.locator('.tlbench-strategy').get_by_role('button', name='fine-tune', exact=True).click()
            _set(page, 'epochs', 40); _set(page, 'budget', 'all')
            start.click()
            expect(status).to_have_text('running', timeout=10_000)
            expect(page.locator('.tlbench-progress-text')).to_contain_text(re.compile(r'epoch \d+/40 .* loss'), timeout=120_000)  # this run's batches are going through
            page.screenshot(path=str(shots/'2-running.png'), full_page=True)
            page.locator('button.tlbench-stop').click()
            expect(status).to_have_text('stopped', timeout=30_000)  # a batch at 32 px takes a fraction of a second
            expect(rows).to_have_count(2, timeout=10_000)
            expect(rows.nth(1)).to_contain_text('stopped')
            # both explorers switched to the stopped run's checkpoint and drew it
            expect(page.locator('.tlbench-model-message').first).to_contain_text('fine-tune-all-0-run2', timeout=60_000)
            expect(page.locator('.tlbench-model-message').last).to_contain_text('fine-tune-all-0-run2', timeout=60_000)
            expect(page.locator('.tlbench-caption').first).to_contain_text('predicted', timeout=60_000)
            expect(page.locator('.tlbench-cam-caption').first).to_contain_text('map', timeout=60_000)
            page.screenshot(path=str(shots/'3-stopped.png'), full_page=True)
            assert page.locator('.jp-OutputArea-output:has-text("Traceback")').count() == 0
            assert page.locator('.tlbench-model-message:has-text("Error")').count() == 0
        except Exception as e:
            try: page.screenshot(path=str(shots/'failure.png'), full_page=True)
            except Exception as e2: print(f'no failure screenshot: {e2}')  # the test's own error is the one to see
            raise AssertionError(f'{type(e).__name__}: {e}\n{_diagnosis(lab, dialogs)}') from e
        finally:
            browser.close()
    if dialogs: warnings.warn(f'JupyterLab showed {len(dialogs)} dialog(s), closed by the test: {dialogs}')
