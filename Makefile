# Two commands on a fresh machine: `make run` (set up, then show the product working) and
# `make test` (set up with the test tools, then run the whole suite and the type check).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup bench clean

$(BIN)/ckpt: pyproject.toml scripts/setup
	PYTHON=$(PY) ./scripts/setup
	@touch $@

setup: $(BIN)/ckpt

run: setup
	$(BIN)/ckpt demo

test: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache build src/*.egg-info
