# torchstart: `make run` sets up and starts the app; `make test` sets up and runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: run test test-quick test-browser bench browser gpu-wheels clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps re-run pip only when a requirements file changes.
$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(PY) -m streamlit run app.py --server.port $(PORT)

browser: $(VENV)/.dev
	PY=$(PY) bash .ci/ensure-chromium

test: $(VENV)/.dev browser
	$(PY) -m pytest $(PYTEST_ARGS)

# Unit and AppTest tests only: no server, no browser.
test-quick: $(VENV)/.dev
	$(PY) -m pytest -m "not browser and not slow" $(PYTEST_ARGS)

test-browser: $(VENV)/.dev browser
	$(PY) -m pytest -m browser $(PYTEST_ARGS)

bench: $(VENV)/.dev
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Wheels for a CUDA machine that cannot download (Python $(GPU_PYTHON), x86-64), for .ci/gpu-check:
# the app's and tests' packages at this venv's versions, less the big ones a PyTorch CUDA image
# already carries (numpy, pandas, pyarrow, pillow) and torch itself.
GPU_PYTHON ?= 3.12
GPU_PLATFORMS := $(foreach p,manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux1,--platform $(p)_x86_64)
gpu-wheels: $(VENV)/.dev
	rm -rf .whl && mkdir -p .whl
	$(PY) -m pip freeze --exclude torch --exclude playwright > .whl/constraints.txt
	$(PY) -m pip download --quiet --only-binary=:all: --python-version $(GPU_PYTHON) --implementation cp \
	  $(GPU_PLATFORMS) --platform any -d .whl -c .whl/constraints.txt \
	  $$(bash .ci/gpu-requirements)
	rm -f .whl/numpy-* .whl/pandas-* .whl/pyarrow-* .whl/pillow-* .whl/constraints.txt
	@du -sh .whl

clean:
	rm -rf $(VENV) .pytest_cache
