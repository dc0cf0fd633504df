# The two commands of the README. Both work on a fresh machine with Python 3.11 and make.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint

$(BIN)/mge: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/mge

setup: $(BIN)/mge

# Submit the example request and materialize every asset of it on the embedded default.
demo: setup
	$(BIN)/mge run examples/requests/task_api.md

# The whole test suite (the same command CI runs).
test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
