# markbook: two commands do all the set-up on a fresh machine.
#   make demo   create .venv, install, run the demo on the embedded default
#   make test   create .venv, install, run lint, type checks and the tests
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { command -v $$p; break; }; done)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint typecheck pytest serve bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "markbook needs Python 3.11 or newer" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/markbook demo --out demo-output

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest

serve: $(STAMP)
	$(VENV)/bin/markbook serve --host $(HOST) --port $(PORT)

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var demo-output bench-output .pytest_cache .mypy_cache .ruff_cache
