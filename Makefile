# Two commands on a fresh machine: `make run` (set up, then show the product working) and
# `make test` (set up with the test tools, then run the whole suite and the type check).
# They share .venv: `run` installs the server with torch-free semantic search; `test` adds the
# test tools and the torch reference backend on top (a superset, so `run` works after it too).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup bench clean

$(VENV)/.run-ready: pyproject.toml scripts/setup
	PYTHON=$(PY) ./scripts/setup run
	@touch $@

$(VENV)/.test-ready: pyproject.toml scripts/setup
	PYTHON=$(PY) ./scripts/setup test
	@touch $@ $(VENV)/.run-ready

setup: $(VENV)/.test-ready

run: $(VENV)/.run-ready
	$(BIN)/ckpt demo

test: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache build src/*.egg-info
