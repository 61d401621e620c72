# Two entry points on a fresh clone (see README.md): `make demo` and `make test`.
# Both create .venv first; every pip install passes the torch pin in constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: env demo test lint bench

$(BIN)/.kdcs-installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

env: $(BIN)/.kdcs-installed

demo: env
	$(BIN)/kdcs demo

test: env
	$(BIN)/python -m pytest -n 2 --durations=15

lint: env
	$(BIN)/ruff check kdcs tests benchmarks

bench: env
	$(BIN)/python benchmarks/run_all.py
