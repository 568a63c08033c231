"The `tlbench` command end to end: demo, compare, --save then load, shift, matrix, adapt, cam, bad input, lab."
import json, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pandas as pd, pytest
from tlbench.experiments import load_model, evaluate
from tlbench.data import list_items, samples_dir
from conftest import TLBENCH


def test_demo_quick(run_cli, tmp_path):
    out = tmp_path/'demo'
    r = run_cli('demo', '--quick', '--out', out, timeout=600)  # about a minute on 2 idle cores; slow shared machines need room
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out/'results.csv')
    assert {'strategy', 'backbone', 'seed', 'budget', 'accuracy', 'train_seconds'} <= set(df.columns)
    assert set(df.strategy) == {'linear-probe', 'fine-tune', 'scratch'}
    assert (df.backbone == 'efficientnet_lite0').all()
    for png in ('accuracy_vs_budget.png', 'accuracy_vs_time.png'): assert (out/png).stat().st_size > 1000
    html = (out/'report.html').read_text()
    assert html.count('data:image/png;base64,') == 2 and 'linear-probe' in html
    assert 'linear-probe' in r.stdout and 'report:' in r.stdout  # the summary table is printed
    acc = df.set_index('strategy').accuracy
    assert acc['linear-probe'] > acc['scratch']
    # the shift part: strategies under corruption with CE against scratch, then MNIST -> digits
    shift = pd.read_csv(out/'shift'/'shift.csv')
    assert set(shift.method) == {'linear-probe', 'fine-tune', 'fine-tune + AdaBN', 'fine-tune + TENT'}
    assert set(shift.corruption) == {'clean', 'gaussian_noise', 'fog'} and set(shift.severity) == {0, 1, 3, 5}
    assert 'relative_mCE' in (out/'shift'/'report.html').read_text() and 'mCE' in r.stdout
    assert pd.read_csv(out/'adapt'/'results.csv').method.tolist() == ['none', 'adabn', 'tent', 'dann']


def test_compare_save_then_load(run_cli, tiny_tree, tmp_path):
    out = tmp_path/'cmp'
    r = run_cli('compare', tiny_tree, '--out', out, '--strategies', 'linear-probe,fine-tune', '--budgets', '5,all',
                '--seeds', '0', '--epochs', '2', '--size', '32', '--save')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out/'results.csv')
    assert len(df) == 4 and set(df.budget.astype(str)) == {'5', 'all'}
    mdir = out/'models'/'fine-tune-5-0'
    meta = json.loads((mdir/'model.json').read_text())
    assert meta['classes'] == ['0', '1', '7'] and meta['size'] == 32 and meta['backbone'] == 'efficientnet_lite0'
    model, meta = load_model(mdir)
    items = list_items(tiny_tree)
    recorded = df[(df.strategy == 'fine-tune') & (df.budget.astype(str) == '5')].accuracy.item()
    assert evaluate(model, meta, items[items.is_valid]) == pytest.approx(recorded, abs=1e-4)
    # the saved model explains its own predictions
    r = run_cli('cam', mdir, tiny_tree/'7', '--out', tmp_path/'cam', '--method', 'hirescam', '--target', '7', '--steps', '4')
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path/'cam'/'cams.json').read_text())
    assert len(rep['images']) == 20 and {i['target_class'] for i in rep['images']} == {'7'} and rep['method'] == 'hirescam'


def test_compare_resume_skips_finished_runs(run_cli, tiny_tree, tmp_path):
    out = tmp_path/'res'
    args = ['compare', tiny_tree, '--out', out, '--strategies', 'linear-probe', '--budgets', '5', '--epochs', '1', '--size', '32']
    assert run_cli(*args, '--seeds', '0').returncode == 0
    first = pd.read_csv(out/'results.csv')
    r = run_cli(*args, '--seeds', '0,1', '--resume')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out/'results.csv')
    assert df.seed.tolist() == [0, 1] and df.train_seconds[0] == first.train_seconds[0]


def _one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith('tlbench: error:'), r.stderr
    for w in words: assert w in lines[0], lines[0]


def test_bad_input_gives_one_line(run_cli, run_cli_here, tiny_tree, tmp_path):
    out = tmp_path/'o'
    _one_line_error(run_cli('compare', tmp_path/'missing', '--out', out), 'does not exist')  # the installed command, exit status 2
    run_cli = run_cli_here  # the rest in this process: the same main(), without an interpreter start each
    (tmp_path/'empty').mkdir()
    _one_line_error(run_cli('compare', tmp_path/'empty', '--out', out), 'no images found')
    single = tmp_path/'single'; (single/'7').mkdir(parents=True)
    for p in sorted((tiny_tree/'7').iterdir())[:3]: (single/'7'/p.name).write_bytes(p.read_bytes())
    _one_line_error(run_cli('compare', single, '--out', out), "only one class ('7')")
    _one_line_error(run_cli('compare', tiny_tree, '--out', out, '--strategies', 'finetune'), "unknown strategy 'finetune'", 'fine-tune')
    _one_line_error(run_cli('compare', tiny_tree, '--out', out, '--backbone', 'resnt18'), "unknown backbone 'resnt18'", 'resnet18')
    _one_line_error(run_cli('compare', tiny_tree, '--out', out, '--budgets', '0'), 'label budget')
    _one_line_error(run_cli('compare', tiny_tree, '--out', out, '--device', 'tpu'), "unknown device 'tpu'")


def test_uncached_download_gives_one_line(run_cli, tiny_tree, tmp_path):
    env = {'HF_HUB_CACHE': str(tmp_path/'hf'), 'TORCH_HOME': str(tmp_path/'torch')}
    r = run_cli('compare', tiny_tree, '--out', tmp_path/'o', '--backbone', 'resnet18', env=env, timeout=120)
    _one_line_error(r, "'resnet18' (timm)", 'not in the cache', 'efficientnet_lite0')
    assert 'Traceback' not in r.stderr


def test_unreadable_files_are_skipped_and_counted(run_cli, tiny_tree, tmp_path):
    good = next((tiny_tree/'0').iterdir())
    (tiny_tree/'0'/'truncated.png').write_bytes(good.read_bytes()[:40])
    (tiny_tree/'1'/'notes.txt').write_text('not an image')
    (tiny_tree/'7'/'fake.jpg').write_bytes(b'\x00' * 100)
    out = tmp_path/'skip'
    r = run_cli('compare', tiny_tree, '--out', out, '--strategies', 'linear-probe', '--budgets', 'all', '--seeds', '0', '--epochs', '1', '--size', '32')
    assert r.returncode == 0, r.stderr
    assert 'skipped files: 3' in r.stdout
    assert r.stderr.count('skipping ') == 3 and 'truncated.png' in r.stderr
    df = pd.read_csv(out/'results.csv')
    assert df.skipped_files.tolist() == [3] and df.n_train.item() + df.n_valid.item() == 60


def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def test_lab_starts_jupyterlab_on_the_notebooks(tmp_path):
    port, token = _free_port(), 'tlbench-test'
    env = {'JUPYTER_CONFIG_DIR': str(tmp_path/'cfg'), 'JUPYTER_DATA_DIR': str(tmp_path/'data'), 'JUPYTER_RUNTIME_DIR': str(tmp_path/'rt'),
           'JUPYTERLAB_SETTINGS_DIR': str(tmp_path/'settings'), 'JUPYTERLAB_WORKSPACES_DIR': str(tmp_path/'ws'), 'PATH': str(Path(sys.executable).parent)}
    p = subprocess.Popen([str(TLBENCH), 'lab', '--no-browser', f'--port={port}', '--ip=127.0.0.1', f'--IdentityProvider.token={token}'],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f'http://127.0.0.1:{port}/api/contents?token={token}'
        for _ in range(120):
            try: listing = json.loads(urllib.request.urlopen(url, timeout=2).read()); break
            except OSError: time.sleep(0.5)
        else: pytest.fail('JupyterLab did not answer within 60 s')
        names = {c['name'] for c in listing['content']}
        assert {'00_data.ipynb', '02_transfer.ipynb', 'index.ipynb', 'workbench.ipynb'} <= names
        landed = urllib.request.urlopen(f'http://127.0.0.1:{port}/?token={token}', timeout=10).geturl()
        assert landed.split('?')[0].endswith('/lab/tree/workbench.ipynb'), landed  # a student lands on the workbench
    finally:
        p.terminate()
        try: p.wait(10)
        except subprocess.TimeoutExpired: p.kill()


def test_cam_on_imagenet_head_with_a_broken_file(run_cli, tmp_path):
    photos = samples_dir()/'photos'
    (tmp_path/'broken.jpg').write_bytes(b'not a jpeg')
    out = tmp_path/'cam'
    r = run_cli('cam', 'imagenet', photos/'chelsea.jpg', photos/'coffee.jpg', tmp_path/'broken.jpg', '--out', out, '--steps', '8')
    assert r.returncode == 0, r.stderr
    rep = json.loads((out/'cams.json').read_text())
    assert [Path(i['image']).name for i in rep['images']] == ['chelsea.jpg', 'coffee.jpg']
    assert rep['skipped'][0]['path'].endswith('broken.jpg') and 'skipped files: 1' in r.stdout
    cat = rep['images'][0]
    assert any(w in cat['top'][0]['cls'] for w in ('tabby', 'tiger cat', 'Egyptian cat'))
    assert cat['layer'] == '0.8' and cat['method'] == 'gradcam' and 0 <= cat['deletion_auc'] <= 1
    assert (out/'chelsea_gradcam.png').stat().st_size > 10_000


def test_cam_bad_requests_give_one_line(run_cli_here, tmp_path):
    run_cli = run_cli_here
    chelsea = samples_dir()/'photos'/'chelsea.jpg'
    out = tmp_path/'cam'
    _one_line_error(run_cli('cam', 'imagenet', chelsea, '--out', out, '--layer', '0.99'), "layer '0.99' not found", '0.8')
    _one_line_error(run_cli('cam', 'imagenet', chelsea, '--out', out, '--target', '1000'), 'outside the model')
    _one_line_error(run_cli('cam', 'imagenet', chelsea, '--out', out, '--method', 'scorecam'), "unknown CAM method 'scorecam'")
    _one_line_error(run_cli('cam', tmp_path, chelsea, '--out', out), 'is not a saved tlbench model')
    (tmp_path/'x.txt').write_text('hello')
    r = run_cli('cam', 'imagenet', tmp_path/'x.txt', '--out', out)
    assert r.returncode == 2 and r.stderr.splitlines() == [f"tlbench: skipping {tmp_path/'x.txt'}: not an image file",
                                                          f"tlbench: error: none of the 1 image file(s) could be read ({tmp_path/'x.txt'}: not an image file)"]


def test_adapt_mnist_to_digits(run_cli, run_cli_here, tmp_path):
    out = tmp_path/'adapt'
    r = run_cli('adapt', '--source', samples_dir()/'mnist', '--target', samples_dir()/'digits', '--method', 'adabn,tent',
                '--seeds', '0', '--epochs', '1', '--out', out)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out/'results.csv')
    assert list(df.columns) == ['method', 'seed', 'source_accuracy', 'target_accuracy'] and df.method.tolist() == ['none', 'adabn', 'tent']
    assert (out/'adaptation.png').stat().st_size > 5000
    run_cli = run_cli_here
    _one_line_error(run_cli('adapt', '--source', samples_dir()/'mnist', '--target', samples_dir()/'fashion', '--out', out), 'has classes the source lacks')
    _one_line_error(run_cli('adapt', '--source', samples_dir()/'mnist', '--target', samples_dir()/'digits', '--method', 'coral', '--out', out), "unknown adaptation method 'coral'")


def test_shift_saved_model_under_corruption(run_cli, run_cli_here, tiny_tree, tmp_path):
    out = tmp_path/'cmp'
    r = run_cli('compare', tiny_tree, '--out', out, '--strategies', 'fine-tune,scratch', '--budgets', 'all', '--seeds', '0',
                '--epochs', '1', '--size', '32', '--save')
    assert r.returncode == 0, r.stderr
    model, scratch = out/'models'/'fine-tune-all-0', out/'models'/'scratch-all-0'
    r = run_cli('shift', scratch, '--out', tmp_path/'base', '--corruptions', 'fog,contrast', '--severities', '1,3')
    assert r.returncode == 0, r.stderr
    r = run_cli('shift', model, '--out', tmp_path/'shift', '--corruptions', 'fog,contrast', '--severities', '1,3',
                '--adapt', 'none,adabn', '--baseline', tmp_path/'base')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path/'shift'/'shift.csv')
    assert list(df.columns[:5]) == ['method', 'corruption', 'family', 'severity', 'accuracy']
    assert len(df) == 2 * (1 + 2 * 2) and set(df.method) == {'none', 'adabn'}
    assert (df.n_images == 12).all()  # the validation split of the training data, as recorded in model.json (20% of 60)
    for f in ('accuracy_vs_severity.png', 'heatmap.png'): assert (tmp_path/'shift'/f).stat().st_size > 5000
    assert 'mCE' in r.stdout and 'relative_mCE' in (tmp_path/'shift'/'report.html').read_text()
    # --data scores every image of another folder with the same classes
    r = run_cli('shift', model, '--out', tmp_path/'other', '--data', tiny_tree, '--corruptions', 'noise', '--severities', '5')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path/'other'/'shift.csv')
    assert set(df.corruption) == {'clean', 'gaussian_noise', 'shot_noise', 'impulse_noise', 'speckle_noise'} and (df.n_images == 60).all()
    bad, run_cli = tmp_path/'bad', run_cli_here
    _one_line_error(run_cli('shift', model, '--out', bad, '--corruptions', 'fogg'), "unknown corruption 'fogg'", 'gaussian_noise')
    _one_line_error(run_cli('shift', model, '--out', bad, '--severities', '0-3'), 'severity must be a whole number from 1 to 5')
    _one_line_error(run_cli('shift', model, '--out', bad, '--adapt', 'dann'), "unknown test-time adaptation method 'dann'", 'tlbench adapt')
    _one_line_error(run_cli('shift', model, '--out', bad, '--data', samples_dir()/'fashion'), "are not among the model's classes")
    _one_line_error(run_cli('shift', tmp_path, '--out', bad), 'is not a saved tlbench model')
    _one_line_error(run_cli('shift', model, '--out', bad, '--baseline', tmp_path/'nothing.csv'), "baseline", 'not found')
    (tmp_path/'results_not_shift.csv').write_text('strategy,accuracy\nscratch,0.5\n')
    _one_line_error(run_cli('shift', model, '--out', bad, '--baseline', tmp_path/'results_not_shift.csv'), 'is not a corruption table')
    _one_line_error(run_cli('shift', model, '--out', bad, '--corruptions', 'fog', '--severities', '5', '--baseline', tmp_path/'base'), 'no results for fog 5')
    _one_line_error(run_cli('shift', model, '--out', bad, '--max-images', '0'), 'at least 1')
    assert not bad.exists()  # every check comes before any work


def test_matrix_trains_on_each_domain_and_tests_on_the_other(run_cli, run_cli_here, tiny_tree, tmp_path):
    mnist = tmp_path/'mnist'
    for c in ('0', '1', '7'):
        (mnist/c).mkdir(parents=True)
        for p in sorted((samples_dir()/'mnist'/c).iterdir())[:20]: (mnist/c/p.name).write_bytes(p.read_bytes())
    out = tmp_path/'matrix'
    r = run_cli('matrix', mnist, tiny_tree, '--out', out, '--strategies', 'linear-probe', '--seeds', '0', '--epochs', '1')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out/'shift_matrix.csv')
    assert set(zip(df.source, df.target)) == {('mnist', 'tiny'), ('tiny', 'mnist')}
    assert (out/'shift_matrix.png').stat().st_size > 5000 and (out/'summary.csv').exists()
    _one_line_error(run_cli_here('matrix', mnist, '--out', out), 'at least two domains')
