"""The API fuzzed from its own OpenAPI (schemathesis): every operation of the schema, with inputs
generated from its declared parameters and bodies, sent with a valid token of each role against a
ledger that holds a little of everything. No answer may be a 5xx; every answer must match what the
schema declares for it (status, content type, headers, body); and afterwards the database keeps
every invariant of DESIGN.md (`reliability.invariants`).

The run is bounded: FUZZ_EXAMPLES cases per operation (8 on SQLite, 3 on PostgreSQL; `make fuzz`
runs 200, with a fresh seed each time), derandomized here so that CI is repeatable.
"""

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text

from reliability import invariants
from tests.conftest import ON_POSTGRES, make_user
from tests.test_dump_restore import populate

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3" if ON_POSTGRES else "8"))  # a request costs more there
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
ROLES = ("admin", "officer", "approver", "auditor", "enterprise")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def ledger(api, db) -> dict[str, str]:
    """The ledger of the dump test (books, entries, a reversal, a loan, a closed period) and a
    token of each role; the enterprise one bound to the party that has the loan."""
    populate(api, db)
    tokens = {role: make_user(db, f"fuzz-{role}", role, party_id=1 if role == "enterprise" else None) for role in ROLES}
    return tokens | {"admin": api.token}


def test_no_input_breaks_the_api_or_the_ledger(api, db, ledger):
    api.client.app.state.auth_throttle.max_failures = 10**9  # tokens are valid; this is not about the throttle
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    with db.read() as connection:
        users_before = set(connection.execute(text("SELECT id FROM app_user")).scalars())
    sent, failures, started = [], {}, time.monotonic()
    for operation in operations:
        try:
            fuzz(operation, ledger, sent, users_before)
        except (Exception, BaseExceptionGroup) as failure:  # every operation is fuzzed; all failures reported
            failures[operation.label] = _first_line(failure)
    assert not failures, "\n".join(f"{label}: {failure}" for label, failure in failures.items())
    problems = invariants.check(db)
    assert not problems, problems
    print(f"\nfuzzed {len(sent)} requests over {len(operations)} operations in {time.monotonic() - started:.1f} s")


def fuzz(operation, tokens: dict[str, str], sent: list, keep_users: set[int]) -> None:
    """Run the operation's cases, valid and invalid ones, revoking none of `keep_users`; each
    request sent is counted in `sent`."""
    cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in GenerationMode)).filter(
        lambda case: (case.path_parameters or {}).get("user_id") not in keep_users
    )  # revoking the fuzzer's own tokens would end the run, not find a bug

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, role=st.sampled_from(ROLES))
    def run(case, role):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {tokens[role]}"}
        response = case.call()
        sent.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    run()


def _first_line(failure: Exception) -> str:
    """What failed and how to reproduce it (schemathesis puts a curl command in its message)."""
    text = str(failure)
    reproduce = next((line.strip() for line in text.splitlines() if line.strip().startswith("curl ")), "")
    return f"{type(failure).__name__}: {text.splitlines()[0] if text else ''} {reproduce}"[:600]
