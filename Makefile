# Two entry points, both self-contained on a fresh machine with Python >= 3.11:
#   make demo   create .venv, install, run the headline reproduction (bitswap-sim reproduce)
#   make test   create .venv, install the dev extras, lint and run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench golden clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "bitswap-sim needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/bitswap-sim reproduce --out results/reproduce

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	QUICK=1 $(BIN)/python -m pytest tests notebooks --nbmake --nbmake-timeout=120

# Rewrite tests/data/golden.json after a change that alters outputs on purpose; the commit that
# changes the file says why.
golden: $(VENV)/.installed-dev
	$(BIN)/python tests/test_golden.py --write

bench: $(VENV)/.installed
	$(BIN)/bitswap-sim bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
