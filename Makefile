# One obvious entry point per task; .ci/run calls `make check`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install serve fmt lint type test test-pg check

$(BIN)/tollgate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/tollgate

serve: install
	$(BIN)/tollgate serve

fmt: install
	$(BIN)/ruff format app tests migrations scripts bench examples
	$(BIN)/ruff check --fix app tests migrations scripts bench examples

lint: install
	$(BIN)/ruff check app tests migrations scripts bench examples
	$(BIN)/ruff format --check app tests migrations scripts bench examples
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_structure.py

type: install
	$(BIN)/mypy

test: install
	$(BIN)/pytest -q

test-pg: install
	TOLLGATE_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q

check: lint type test test-pg
