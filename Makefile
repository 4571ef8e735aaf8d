# The two commands of the quick start: `make run` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/codi-ledger run --demo

test: $(STAMP)
	$(BIN)/ruff check ledger store api tests bench
	$(BIN)/python -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL)"; \
		CODI_TEST_DB=postgres $(BIN)/python -m pytest; \
	fi

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.schedules
	$(BIN)/python -m bench.cob

clean:
	rm -rf $(VENV) codi-ledger.db codi-ledger.db-wal codi-ledger.db-shm
