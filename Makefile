# The two commands of the quick start: `make run` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench fuzz reliability audit-deps lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/codi-ledger run --demo

test: $(STAMP)
	$(BIN)/ruff check ledger store api tests bench reliability
	$(BIN)/python -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL)"; \
		CODI_TEST_DB=postgres $(BIN)/python -m pytest; \
	fi

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.schedules
	$(BIN)/python -m bench.cob
	$(BIN)/python -m bench.sales
	DATABASE_URL=$${BENCH_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/python -m bench.sales
	$(BIN)/python -m bench.reports

# The fuzzer of tests/test_fuzz.py at length, with a fresh seed (docs/reliability.md).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} FUZZ_RANDOM=1 $(BIN)/python -m pytest -p no:cacheprovider -s tests/test_fuzz.py

# Crash safety on SQLite and PostgreSQL, then load on PostgreSQL, each bounded (CI runs this).
RELIABILITY_SECONDS ?= 40
reliability: $(STAMP)
	$(BIN)/python -m reliability.crash --db both --seconds $(RELIABILITY_SECONDS)
	$(BIN)/python -m reliability.load --db postgresql --seconds $(RELIABILITY_SECONDS)

# Known vulnerabilities in the installed dependencies (the project itself is skipped).
audit-deps: $(STAMP)
	$(BIN)/pip-audit --skip-editable --progress-spinner off

clean:
	rm -rf $(VENV) codi-ledger.db codi-ledger.db-wal codi-ledger.db-shm
