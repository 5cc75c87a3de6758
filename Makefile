# markbook: two commands do all the set-up on a fresh machine.
#   make demo   create .venv, install, run the demo on the embedded default
#   make test   create .venv, install, run lint, import contracts, type checks and the tests
# Dependencies come from the hashed lock (requirements/lock-dev.txt: runtime + dev tools,
# Python 3.11 on Linux); `make lock` regenerates it from pyproject.toml (needs uv).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Python 3.11 first: the lock is resolved for it (newer versions are tried after).
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { command -v $$p; break; }; done)
HOST ?= 127.0.0.1
PORT ?= 8000
LOCK := requirements/lock.txt
LOCK_DEV := requirements/lock-dev.txt
LOCK_BUILD := requirements/lock-build.txt
UV ?= uv
# e.g. `make lock LOCK_ARGS=--upgrade` to move every pin to the newest allowed release.
LOCK_ARGS ?=
LOCK_FLAGS := --python-version 3.11 --python-platform linux --generate-hashes \
	--no-emit-index-url --custom-compile-command "make lock" --quiet $(LOCK_ARGS)

.PHONY: demo test lint typecheck pytest serve bench clean lock screenshots

# Every dependency and the build backend at its locked version and hash; then markbook
# itself, editable, built with that backend and adding nothing the lock does not hold.
$(STAMP): pyproject.toml $(LOCK_DEV) $(LOCK_BUILD)
	@test -n "$(PYTHON)" || { echo "markbook needs Python 3.11 or newer" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK_DEV) -r $(LOCK_BUILD)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# The demo's class writes with real handwriting when the shared datasets are at hand (the
# folder beside the checkout, or MARKBOOK_DATASETS_DIR), else with font glyphs.
DEMO_DATASETS := $(or $(MARKBOOK_DATASETS_DIR),$(wildcard ../shared/datasets))

demo: $(STAMP)
	$(if $(DEMO_DATASETS),MARKBOOK_DATASETS_DIR=$(DEMO_DATASETS)) $(VENV)/bin/markbook demo --out demo-output

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest

# The browser tests, saving docs/screenshots/*.png as they go (a plain test run leaves the
# committed images alone).
screenshots: $(STAMP)
	MARKBOOK_SCREENSHOTS=1 $(PY) -m pytest -q -m browser tests/browser $(PYTEST_ARGS)

serve: $(STAMP)
	$(VENV)/bin/markbook serve --host $(HOST) --port $(PORT)

# `make bench BENCH_ARGS="--only bench_print --no-write"` runs one benchmark without touching
# docs/benchmarks.md; `make bench` runs them all and regenerates the page.
bench: $(STAMP)
	$(PY) -m bench.run_all $(BENCH_ARGS)

# The runtime lock (the Docker image), the runtime + dev lock (make test, CI) and the build
# backend's lock; each later one is constrained by the one before, so all pin the same
# versions.
lock:
	$(UV) pip compile pyproject.toml $(LOCK_FLAGS) -o $(LOCK)
	$(UV) pip compile pyproject.toml --extra dev -c $(LOCK) $(LOCK_FLAGS) -o $(LOCK_DEV)
	$(UV) pip compile requirements/build.in -c $(LOCK_DEV) $(LOCK_FLAGS) -o $(LOCK_BUILD)

clean:
	rm -rf $(VENV) var demo-output bench-output .pytest_cache .mypy_cache .ruff_cache
