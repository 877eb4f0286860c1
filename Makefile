# README's two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck spec drift pytest fuzz generate bench clean

$(STAMP): pyproject.toml codegen/requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r codegen/requirements.txt -r requirements-dev.txt -e '.[testing,fastapi,redis,cli]'
	touch $@

demo: $(STAMP)
	$(BIN)/python examples/quickstart.py

test: lint typecheck spec drift pytest

LINTED := $(wildcard src codegen tests examples bench docs)

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy --strict

spec: $(STAMP)
	$(BIN)/python codegen/lint_spec.py

drift: $(STAMP)
	$(BIN)/python codegen/generate.py --check
	$(BIN)/python codegen/unasync.py --check

pytest: $(STAMP)
	$(BIN)/python -m pytest

# Property tests (the `hypothesis` marker) with random seeds and ten times the examples; `make test` runs them
# derandomized (profiles in tests/conftest.py). A failure prints the seed and a @reproduce_failure blob, and is
# replayed first by the next `make fuzz` from .hypothesis/.
fuzz: $(STAMP)
	$(BIN)/python -m pytest -m hypothesis --hypothesis-profile=explore

generate: $(STAMP)
	$(BIN)/python codegen/generate.py
	$(BIN)/python codegen/unasync.py
	$(BIN)/python docs/make_coverage.py

# The SDK comparison rows run openai, stripe and httpx2 from an environment of their own, never the test suite's.
COMPARE := bench/.venv-compare
$(COMPARE)/.installed-stamp: bench/requirements-compare.txt pyproject.toml
	test -x $(COMPARE)/bin/python || $(PYTHON) -m venv $(COMPARE)
	$(COMPARE)/bin/python -m pip install --quiet --upgrade pip
	$(COMPARE)/bin/python -m pip install --quiet -r bench/requirements-compare.txt -e .
	touch $@

bench: $(STAMP) $(COMPARE)/.installed-stamp
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(COMPARE) build dist .mypy_cache .pytest_cache
