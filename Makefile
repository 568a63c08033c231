# `make demo` and `make test` set everything up on a fresh machine (Python 3.10+ with venv; no network but the package registries).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tlbench-installed

.PHONY: setup demo test test-nbs test-py sync readme bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch and torchvision as a matched pair (PyPI's torchvision does not import beside other torch builds)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[dev]'
	# the reference corruptions, for tests and benchmarks only; --no-deps because it asks for opencv-python, which would clash with the headless OpenCV already here
	$(PY) -m pip install -q --no-deps imagecorruptions==1.1.2
	touch $@

setup: $(STAMP)

demo: setup
	$(VENV)/bin/tlbench demo --out demo_out

test: setup test-nbs test-py

# one torch thread per notebook worker: two workers with two threads each on two cores oversubscribe and crawl
test-nbs: setup
	OMP_NUM_THREADS=1 $(VENV)/bin/nbdev-test --n-workers 2 --timing

# two tests at a time, one torch thread each: most of a test is interpreter start-up, file work or a browser waiting, which one process leaves a core idle for
# -rs prints why a test was skipped (the browser test without chromium)
test-py: setup
	OMP_NUM_THREADS=1 $(VENV)/bin/pytest -q -rs -n 2 tests

# notebooks, library and README agree: regenerate and compare with git
sync: setup
	$(VENV)/bin/nbdev-export
	$(VENV)/bin/nbdev-clean
	$(PY) tools/readme.py
	git status --porcelain -- nbs tlbench README.md
	test -z "$$(git status --porcelain -- nbs tlbench README.md)"

readme: setup
	$(PY) tools/readme.py

bench: setup
	$(PY) bench/linear_probe_vs_frozen.py
	$(PY) bench/gradcam_vs_reference.py
	$(PY) bench/corruptions_vs_reference.py

clean:
	rm -rf $(VENV) demo_out
