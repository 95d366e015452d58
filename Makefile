# Rapport: `make demo` serves a synthetic clinic; `make test` runs lint and the whole
# suite on SQLite and on PostgreSQL.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: install demo serve test test-sqlite test-postgres lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[dev]'
	touch $(STAMP)

# axe-core for the accessibility checks of the browser tests (not needed to run Rapport).
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --silent && touch $(NODE_STAMP); \
	else \
		echo "npm not found: browser tests will be skipped (CI requires them)"; \
	fi

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/rapport demo

serve: $(STAMP)
	$(BIN)/rapport serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The two database runs share nothing (SQLite in memory, PostgreSQL in its own test
# database, live servers on free ports), so they run side by side; --output-sync keeps
# each run's report in one piece. Work that would only repeat itself runs once: the
# browser tests on PostgreSQL, the production engine (the SQLite run checks the same
# views through Django's test client), and tests that never touch the test database
# (`rapport demo` and `rapport serve` with their own data folder, the mypy exemption
# check) on SQLite. Plain `pytest` runs everything on the database it is given.
test: lint
	$(MAKE) --jobs=2 --output-sync=target test-sqlite test-postgres

test-sqlite: $(STAMP) $(NODE_STAMP)
	env -u RAPPORT_DATABASE_URL $(BIN)/pytest -m "not browser" $(PYTEST_ARGS)

test-postgres: $(STAMP) $(NODE_STAMP)
	scripts/ensure-postgres
	RAPPORT_DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not database_independent" $(PYTEST_ARGS)

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .ruff_cache .mypy_cache .hypothesis *.egg-info
