# The two commands of the quick start: `make run` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench fuzz reliability audit-deps lint clean messages chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/codi-ledger run --demo

# With TEST_DATABASE_URL the PostgreSQL suite runs beside the SQLite one (two cores, half the
# wait); its output is printed after SQLite's, and either failing fails the target.
# The browser tests (tests/browser) drive Debian's Chromium, installed here if missing; without
# it they fail, never skip.
chromium:
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium fonts-thai-tlwg; }

test: $(STAMP) chromium
	$(BIN)/ruff check ledger store api web tests bench reliability
	@if [ -z "$$TEST_DATABASE_URL" ]; then exec $(BIN)/python -m pytest; fi; \
	log=$$(mktemp); \
	CODI_TEST_DB=postgres $(BIN)/python -m pytest -p no:cacheprovider >"$$log" 2>&1 & postgres=$$!; \
	echo "== on SQLite (PostgreSQL runs alongside: $$TEST_DATABASE_URL)"; \
	$(BIN)/python -m pytest; sqlite_status=$$?; \
	wait $$postgres; postgres_status=$$?; \
	echo "== on PostgreSQL ($$TEST_DATABASE_URL)"; cat "$$log"; rm -f "$$log"; \
	[ $$sqlite_status -eq 0 ] && [ $$postgres_status -eq 0 ]

# The pages' messages: extracted from web/ (babel.cfg) and merged into the Thai and English
# catalogs; then write the Thai of each new message (tests/test_web_text.py fails on an
# empty one). The catalogs are compiled in memory when the server starts (web.i18n).
messages: $(STAMP)
	@pot=$$(mktemp); \
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ --no-location --sort-output -o "$$pot" . && \
	$(BIN)/pybabel update -i "$$pot" -d web/locale --no-fuzzy-matching --ignore-obsolete --no-wrap; status=$$?; rm -f "$$pot"; exit $$status

# bench.reports compares our trial balance with hledger's, Debian's package, installed here if missing.
bench: $(STAMP)
	command -v hledger >/dev/null || { apt-get update -qq && apt-get install -y -qq hledger; } \
		|| echo "hledger could not be installed: bench.reports reports it as absent"
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.schedules
	$(BIN)/python -m bench.cob
	$(BIN)/python -m bench.sales
	DATABASE_URL=$${BENCH_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/python -m bench.sales
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.reports --db postgres
	$(BIN)/python -m bench.pages
	$(BIN)/python -m bench.dashboard

# The fuzzer of tests/test_fuzz.py at length, with a fresh seed (docs/reliability.md).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} FUZZ_RANDOM=1 $(BIN)/python -m pytest -p no:cacheprovider -s tests/test_fuzz.py

# Crash safety on SQLite and PostgreSQL, then load on PostgreSQL, each bounded, then the timing of
# another party's object against an unknown id (about 30 s in all) (CI runs this).
RELIABILITY_SECONDS ?= 40
RELIABILITY_TIMING_SECONDS ?= 12
reliability: $(STAMP)
	$(BIN)/python -m reliability.crash --db both --seconds $(RELIABILITY_SECONDS)
	$(BIN)/python -m reliability.load --db postgresql --seconds $(RELIABILITY_SECONDS)
	$(BIN)/python -m reliability.timing --db postgresql --seconds $(RELIABILITY_TIMING_SECONDS)

# Known vulnerabilities in the installed dependencies (the project itself is skipped), two ways
# (docs/reliability.md): pip-audit asks about each installed version; where the index or OSV does
# not answer it skips or gives up, which must not fail the target, but a finding of its must.
# reliability.audit_deps reads the project JSON, the part of the index served everywhere, and
# fails on an advisory of an installed version or when too little could be audited.
audit-deps: $(STAMP)
	@err=$$(mktemp); \
	$(BIN)/pip-audit --skip-editable --progress-spinner off 2>"$$err"; pip_audit=$$?; cat "$$err" >&2; \
	if [ $$pip_audit -ne 0 ] && ! grep -q '^Found [0-9]* known vulnerabilit' "$$err"; then \
		echo "pip-audit could not audit (exit $$pip_audit, no finding): reliability.audit_deps decides"; pip_audit=0; \
	fi; rm -f "$$err"; \
	$(BIN)/python -m reliability.audit_deps; own=$$?; \
	[ $$pip_audit -eq 0 ] && [ $$own -eq 0 ]

clean:
	rm -rf $(VENV) codi-ledger.db codi-ledger.db-wal codi-ledger.db-shm
