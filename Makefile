# torchstart: `make run` sets up and starts the app; `make test` sets up and runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: run test test-quick test-browser bench browser clean

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

clean:
	rm -rf $(VENV) .pytest_cache
