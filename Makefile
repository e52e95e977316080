# Set-up and run. Every install step lives here so a clean clone works with only Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed

# Passive OpenMP waiting: busy-waiting threads slow small torch operations badly on shared cores.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: demo test test-slow lint format bench docs clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	# torch first, pinned, so no dependency resolves to a CUDA build.
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/srmer demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The docs extra (mkdocs, material, mkdocstrings), installed into the same venv once (again only
# when pyproject.toml or constraints.txt change).
$(DOCS_STAMP): pyproject.toml constraints.txt | $(STAMP)
	$(BIN)/python -m pip install -c constraints.txt -e '.[docs]'
	touch $(DOCS_STAMP)

# The documentation site (mkdocs.yml) into site/; --strict: any warning (a broken link, a bad
# docstring) fails the build.
docs: $(STAMP) $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache build site *.egg-info
