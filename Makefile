# The two commands of the quick start: `make run` and `make test`. Each sets up what it needs, from
# the lock files: requirements.lock (what running needs) and requirements-test.lock (that and the
# test tools), every version pinned and every file's hash checked. `make lock` writes them again
# after a change to pyproject.toml; `make upgrade` moves them to the newest versions it allows.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test bench fuzz reliability audit-deps lint clean messages chromium lock upgrade

# A lock names every package, so pip installs exactly those (--no-deps) and resolves nothing: a
# resolving pip older than the lock's own (a new venv's) refuses a dependency asked for with
# extras in hash-checking mode. `pip check` then proves the set complete. The project itself
# goes in with --no-deps too: everything it needs came from the lock, hash-checked.
$(RUN_STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

$(TEST_STAMP): requirements-test.lock $(RUN_STAMP)
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-test.lock
	$(BIN)/pip check
	touch $@

run: $(RUN_STAMP)
	$(BIN)/codi-ledger run --demo

# With TEST_DATABASE_URL the PostgreSQL suite runs beside the SQLite one (two cores, half the
# wait); its output is printed after SQLite's, and either failing fails the target.
# The browser tests (tests/browser) drive Debian's Chromium, installed here if missing; without
# it they fail, never skip.
chromium:
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium fonts-thai-tlwg; }

test: $(TEST_STAMP) chromium
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
messages: $(RUN_STAMP)
	@pot=$$(mktemp); \
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ --no-location --sort-output -o "$$pot" . && \
	$(BIN)/pybabel update -i "$$pot" -d web/locale --no-fuzzy-matching --ignore-obsolete --no-wrap; status=$$?; rm -f "$$pot"; exit $$status

# bench.reports compares our trial balance with hledger's, Debian's package, installed here if missing.
bench: $(TEST_STAMP)
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
	$(BIN)/python -m bench.statements
	$(BIN)/python -m bench.statements --db postgres
	$(BIN)/python -m bench.tiers

# The fuzzer of tests/test_fuzz.py at length, with a fresh seed (docs/reliability.md).
fuzz: $(TEST_STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} FUZZ_RANDOM=1 $(BIN)/python -m pytest -p no:cacheprovider -s tests/test_fuzz.py

# Crash safety on SQLite and PostgreSQL, then load on PostgreSQL, each bounded, then the timing of
# another party's object against an unknown id (about 30 s in all) (CI runs this).
RELIABILITY_SECONDS ?= 40
RELIABILITY_TIMING_SECONDS ?= 12
reliability: $(TEST_STAMP)
	$(BIN)/python -m reliability.crash --db both --seconds $(RELIABILITY_SECONDS)
	$(BIN)/python -m reliability.load --db postgresql --seconds $(RELIABILITY_SECONDS)
	$(BIN)/python -m reliability.timing --db postgresql --seconds $(RELIABILITY_TIMING_SECONDS)

# Known vulnerabilities in the locked dependencies, the test tools' too (requirements-test.lock
# holds every pin of requirements.lock), two ways (docs/reliability.md): pip-audit asks about each
# pinned version; where the index or OSV does not answer it skips or gives up, which must not fail
# the target, but a finding of its must. reliability.audit_deps reads the project JSON, the part of
# the index served everywhere, and fails on an advisory of a pinned version or when too little
# could be audited.
AUDITED_LOCK := requirements-test.lock
audit-deps: $(TEST_STAMP)
	@err=$$(mktemp); \
	$(BIN)/pip-audit -r $(AUDITED_LOCK) --disable-pip --progress-spinner off 2>"$$err"; pip_audit=$$?; cat "$$err" >&2; \
	if [ $$pip_audit -ne 0 ] && ! grep -q '^Found [0-9]* known vulnerabilit' "$$err"; then \
		echo "pip-audit could not audit (exit $$pip_audit, no finding): reliability.audit_deps decides"; pip_audit=0; \
	fi; rm -f "$$err"; \
	$(BIN)/python -m reliability.audit_deps --requirements $(AUDITED_LOCK); own=$$?; \
	[ $$pip_audit -eq 0 ] && [ $$own -eq 0 ]

# The lock files, from pyproject.toml by pip-compile (pip-tools, a test tool): the test lock is
# resolved first, keeping the versions it pins already; the running lock is the same versions,
# without the test tools. `make upgrade` (monthly, docs/operations.md) takes the newest versions
# pyproject.toml allows; then run `make test` and commit both files.
COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --allow-unsafe --generate-hashes \
	--strip-extras --no-emit-index-url --no-emit-find-links
lock: $(TEST_STAMP)
	$(COMPILE) $(UPGRADE) --extra test -o requirements-test.lock pyproject.toml
	cp requirements-test.lock requirements.lock
	$(COMPILE) -o requirements.lock pyproject.toml

upgrade:
	$(MAKE) lock UPGRADE=--upgrade

clean:
	rm -rf $(VENV) codi-ledger.db codi-ledger.db-wal codi-ledger.db-shm
