"""Every route in the OpenAPI, attacked. The routes are read from the app itself and each must have
a rule in `RULES` (who may call it, and what a party-bound token meets there), so a route added
later without a rule fails `test_every_route_has_a_rule`, and a rule fails its checks here:

- without a valid token every route answers 401, and an auditor who writes gets 403 and changes
  nothing; every role outside a route's rule gets 403, every role inside it gets past the role
  check;
- an enterprise token meets another party's objects as if they did not exist: 404 with the very
  answer an unknown id gets, and nothing of theirs in any list, filter or error;
- tokens are kept only as hashes, can be revoked, can expire, and repeated failures to
  authenticate from one address are throttled (429 with Retry-After).
"""

import contextlib
import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import Engine, event, text

from api.context import KnownTokens
from tests.conftest import NOW, make_user

ALL = frozenset({"admin", "officer", "approver", "auditor", "enterprise"})
STAFF = ALL - {"enterprise"}
ADMIN = frozenset({"admin"})
REGISTRARS = frozenset({"admin", "officer"})
JOURNAL_WRITERS = frozenset({"admin", "officer", "enterprise"})
APPROVERS = frozenset({"admin", "approver"})
AUDITORS = frozenset({"admin", "auditor"})
TIER_READERS = frozenset({"admin", "officer", "auditor"})
WRITES = {"post", "put", "patch", "delete"}
PUBLIC = {("get", "/health"), ("get", "/ready")}  # for load balancers: they hold no token


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and what a token bound to a party meets there:
    `scoped`: the path (or body) names an object, and another party's is 404;
    `filtered`: a list that holds only the party's own rows, whatever the filters say;
    `shared`: not any party's data (loan products are the fund's offer to all)."""

    roles: frozenset[str]
    party: str | None = None


RULES = {
    ("get", "/v1/parties"): Rule(ALL, "filtered"),
    ("post", "/v1/parties"): Rule(REGISTRARS),
    ("patch", "/v1/parties/{party_id}"): Rule(REGISTRARS),
    ("get", "/v1/parties/{party_id}"): Rule(ALL, "scoped"),
    ("get", "/v1/parties/{party_id}/export"): Rule(ALL, "scoped"),
    ("post", "/v1/parties/{party_id}/erasure"): Rule(ADMIN),
    ("get", "/v1/books"): Rule(ALL, "filtered"),
    ("post", "/v1/books"): Rule(REGISTRARS),
    ("get", "/v1/books/{book_id}"): Rule(ALL, "scoped"),
    ("get", "/v1/books/{book_id}/accounts"): Rule(ALL, "scoped"),
    ("post", "/v1/books/{book_id}/accounts"): Rule(REGISTRARS),
    ("get", "/v1/books/{book_id}/trial-balance"): Rule(ALL, "scoped"),
    ("get", "/v1/books/{book_id}/periods"): Rule(ALL, "scoped"),
    ("post", "/v1/books/{book_id}/periods/close"): Rule(ADMIN),
    ("get", "/v1/accounts/{account_id}"): Rule(ALL, "scoped"),
    ("get", "/v1/accounts/{account_id}/balance"): Rule(ALL, "scoped"),
    ("get", "/v1/accounts/{account_id}/statement"): Rule(ALL, "scoped"),
    ("get", "/v1/entries"): Rule(ALL, "filtered"),
    ("post", "/v1/entries"): Rule(JOURNAL_WRITERS, "scoped"),
    ("get", "/v1/entries/{entry_id}"): Rule(ALL, "scoped"),
    ("post", "/v1/entries/{entry_id}/reversal"): Rule(JOURNAL_WRITERS, "scoped"),
    ("get", "/v1/loan-products"): Rule(ALL, "shared"),
    ("post", "/v1/loan-products"): Rule(REGISTRARS),
    ("get", "/v1/loan-products/{product_id}"): Rule(ALL, "shared"),
    ("post", "/v1/loan-products/{product_id}/rate-changes"): Rule(APPROVERS),
    ("get", "/v1/loans"): Rule(ALL, "filtered"),
    ("post", "/v1/loans"): Rule(REGISTRARS),
    ("get", "/v1/loans/{loan_id}"): Rule(ALL, "scoped"),
    ("get", "/v1/loans/{loan_id}/schedule"): Rule(ALL, "scoped"),
    ("get", "/v1/loans/{loan_id}/statement"): Rule(ALL, "scoped"),
    ("post", "/v1/loans/{loan_id}/approval"): Rule(APPROVERS),
    ("post", "/v1/loans/{loan_id}/disbursements"): Rule(REGISTRARS),
    ("post", "/v1/loans/{loan_id}/repayments"): Rule(REGISTRARS),
    ("post", "/v1/loans/{loan_id}/repayments/{transaction_id}/reversal"): Rule(REGISTRARS),
    ("post", "/v1/loans/{loan_id}/write-off"): Rule(APPROVERS),
    ("post", "/v1/loans/{loan_id}/write-off-undo"): Rule(APPROVERS),
    ("post", "/v1/loans/{loan_id}/charge-off"): Rule(APPROVERS),
    ("post", "/v1/loans/{loan_id}/charge-off-undo"): Rule(APPROVERS),
    ("post", "/v1/loans/{loan_id}/recoveries"): Rule(REGISTRARS),
    ("post", "/v1/loans/{loan_id}/refunds"): Rule(REGISTRARS),
    ("post", "/v1/loans/{loan_id}/reschedules"): Rule(REGISTRARS),
    ("post", "/v1/loans/{loan_id}/moratoria"): Rule(REGISTRARS),
    ("post", "/v1/loans/{loan_id}/rebates"): Rule(APPROVERS),
    ("post", "/v1/loans/{loan_id}/litigation"): Rule(REGISTRARS),
    ("post", "/v1/loans/{loan_id}/rejection"): Rule(APPROVERS),
    ("post", "/v1/loans/{loan_id}/withdrawal"): Rule(REGISTRARS),
    ("post", "/v1/loans/{loan_id}/cancellation"): Rule(APPROVERS),
    ("post", "/v1/close-of-business"): Rule(ADMIN),
    ("get", "/v1/portfolio"): Rule(STAFF),
    ("get", "/v1/audit"): Rule(AUDITORS),
    ("get", "/v1/audit/digest"): Rule(AUDITORS),
    ("get", "/v1/audit/verify"): Rule(AUDITORS),
    ("get", "/v1/users"): Rule(ADMIN),
    ("post", "/v1/users"): Rule(ADMIN),
    ("post", "/v1/users/{user_id}/revoke"): Rule(ADMIN),
    ("get", "/v1/admin-commands"): Rule(AUDITORS),
    ("get", "/v1/admin-commands/{command_id}"): Rule(AUDITORS),
    ("post", "/v1/admin-commands/{command_id}/approval"): Rule(ADMIN),
    ("post", "/v1/admin-commands/{command_id}/rejection"): Rule(ADMIN),
    ("post", "/v1/admin-commands/{command_id}/withdrawal"): Rule(ADMIN),
    ("post", "/v1/admin-commands/{command_id}/token"): Rule(ADMIN),
    ("get", "/v1/books/{book_id}/export"): Rule(ALL, "scoped"),
    # co-investment
    ("get", "/v1/enterprises/{party_id}/share-classes"): Rule(ALL, "scoped"),
    ("post", "/v1/enterprises/{party_id}/share-classes"): Rule(REGISTRARS),
    ("get", "/v1/enterprises/{party_id}/register"): Rule(ALL, "scoped"),
    ("post", "/v1/enterprises/{party_id}/register"): Rule(REGISTRARS),
    ("get", "/v1/enterprises/{party_id}/cap-table"): Rule(ALL, "scoped"),
    ("get", "/v1/enterprises/{party_id}/distribution-policy"): Rule(ALL, "scoped"),
    ("post", "/v1/enterprises/{party_id}/distribution-policy"): Rule(REGISTRARS),
    ("get", "/v1/enterprises/{party_id}/distributions"): Rule(ALL, "scoped"),
    ("post", "/v1/enterprises/{party_id}/distributions"): Rule(REGISTRARS),
    ("get", "/v1/enterprises/{party_id}/distributions/{distribution_id}"): Rule(ALL, "scoped"),
    ("post", "/v1/enterprises/{party_id}/distributions/{distribution_id}/payments"): Rule(REGISTRARS),
    ("get", "/v1/enterprises/{party_id}/equity"): Rule(ALL, "scoped"),
    ("get", "/v1/investment-settings"): Rule(STAFF),
    ("post", "/v1/investment-settings"): Rule(ADMIN),
    ("get", "/v1/investments"): Rule(ALL, "filtered"),
    ("post", "/v1/investments"): Rule(REGISTRARS),
    ("get", "/v1/investments/{investment_id}"): Rule(ALL, "scoped"),
    ("get", "/v1/investments/{investment_id}/statement"): Rule(ALL, "scoped"),
    ("post", "/v1/investments/{investment_id}/purchases"): Rule(REGISTRARS),
    ("post", "/v1/investments/{investment_id}/approval"): Rule(APPROVERS),
    ("post", "/v1/investments/{investment_id}/impairments"): Rule(APPROVERS),
    ("post", "/v1/investments/{investment_id}/impairment-reversals"): Rule(APPROVERS),
    ("post", "/v1/investments/{investment_id}/exits"): Rule(REGISTRARS),
    ("post", "/v1/investments/{investment_id}/exit-plan"): Rule(REGISTRARS),
    # welfare funds
    ("get", "/v1/contribution-rules"): Rule(ALL, "filtered"),
    ("post", "/v1/contribution-rules"): Rule(REGISTRARS),
    ("get", "/v1/contribution-rules/{rule_id}"): Rule(ALL, "scoped"),
    ("post", "/v1/contribution-rules/{rule_id}/end"): Rule(REGISTRARS),
    ("get", "/v1/sales"): Rule(ALL, "filtered"),
    ("post", "/v1/sales"): Rule(JOURNAL_WRITERS, "scoped"),
    ("post", "/v1/sales/import"): Rule(JOURNAL_WRITERS),
    ("get", "/v1/sales/{sale_id}"): Rule(ALL, "scoped"),
    ("post", "/v1/sales/{sale_id}/reversal"): Rule(JOURNAL_WRITERS, "scoped"),
    ("get", "/v1/settlements"): Rule(ALL, "filtered"),
    ("post", "/v1/settlements"): Rule(REGISTRARS),
    ("post", "/v1/settlements/{settlement_id}/reversal"): Rule(REGISTRARS),
    ("get", "/v1/advance-refunds"): Rule(ALL, "filtered"),
    ("post", "/v1/advance-refunds"): Rule(REGISTRARS),
    **{
        (method, f"/v1/welfare-funds/{{party_id}}/{what}"): Rule(JOURNAL_WRITERS if method == "post" else ALL, "scoped")
        for what in ("member-contributions", "matching-contributions", "benefits")
        for method in ("get", "post")
    },
    ("get", "/v1/welfare-funds/{party_id}/administration-costs"): Rule(ALL, "scoped"),
    ("post", "/v1/welfare-funds/{party_id}/administration-costs"): Rule(ALL - {"auditor"}, "scoped"),
    ("get", "/v1/welfare-funds/{party_id}/settings"): Rule(ALL, "scoped"),
    ("post", "/v1/welfare-funds/{party_id}/settings"): Rule(ADMIN),
    ("get", "/v1/welfare-funds/{party_id}/statement"): Rule(ALL, "scoped"),
    ("get", "/v1/welfare-funds/{party_id}/receivables"): Rule(ALL, "scoped"),
    ("get", "/v1/enterprises/{party_id}/sales-summary"): Rule(ALL, "scoped"),
    ("get", "/v1/programme-totals"): Rule(STAFF),
    # members' savings in an organisation's book
    **{("get", f"/v1/organisations/{{organisation_id}}/savings{what}"): Rule(ALL, "scoped")
       for what in ("", "/rule", "/members/{member_id}", "/members/{member_id}/statement")},
    ("put", "/v1/organisations/{organisation_id}/savings/rule"): Rule(REGISTRARS),
    **{("post", f"/v1/organisations/{{organisation_id}}/savings/{what}"): Rule(REGISTRARS)
       for what in ("deposits", "withdrawals", "deposits/bulk", "deposits/import", "interest")},
    # an organisation's own rule for lending to its members
    ("get", "/v1/organisations/{organisation_id}/lending-rule"): Rule(STAFF),
    ("put", "/v1/organisations/{organisation_id}/lending-rule"): Rule(REGISTRARS),
    # reports and the year-end close (the book is in the query string)
    **{
        ("get", f"/v1/reports/{report}"): Rule(ALL, "scoped")
        for report in ("trial-balance", "trial-balance/movements", "financial-position", "income-statement",
                       "general-ledger", "loans-receivable", "investments", "welfare-contributions")
    },  # fmt: skip
    ("get", "/v1/books/{book_id}/year-end-closes"): Rule(ALL, "scoped"),
    ("post", "/v1/books/{book_id}/year-end-closes"): Rule(ADMIN),
    ("post", "/v1/books/{book_id}/year-end-closes/{fiscal_year}/reversal"): Rule(ADMIN),
    ("get", "/v1/parties/{party_id}/programmes"): Rule(ALL, "scoped"),
    ("post", "/v1/parties/{party_id}/programmes"): Rule(REGISTRARS),
    # the tiers: the monthly remittance to CODI and the reconciliation across tiers
    ("post", "/v1/organisations/{organisation_id}/remittances"): Rule(REGISTRARS),
    ("get", "/v1/organisations/{organisation_id}/remittances/{month}"): Rule(TIER_READERS),
    ("get", "/v1/reports/tier-reconciliation"): Rule(TIER_READERS),
    # the look-through (issue 18): a party's token reads its own organisation's line, or its own summary
    ("get", "/v1/reports/look-through"): Rule(ALL, "filtered"),
    ("get", "/v1/members/{member_id}/summary"): Rule(ALL, "scoped"),
}
IMPORTS = {("post", "/v1/sales/import")}
# valid bodies for the writes a party-bound token may make on an object named in the path
BODIES = {
    ("post", "/v1/entries/{entry_id}/reversal"): {"date": "original"},
    ("post", "/v1/sales/{sale_id}/reversal"): {"reason": "returned goods"},
    ("post", "/v1/welfare-funds/{party_id}/member-contributions"): {
        "effective_date": "2024-06-05", "period_from": "2024-06-01", "period_to": "2024-06-30", "frequency": "daily",
        "member_count": 10, "amount": "280.00"},
    ("post", "/v1/welfare-funds/{party_id}/matching-contributions"): {
        "source": "government", "kind": "due", "amount": "1.00", "effective_date": "2024-06-05"},
    ("post", "/v1/welfare-funds/{party_id}/benefits"): {
        "benefit_type": "death", "beneficiary_ref": "M-1", "amount": "1.00", "effective_date": "2024-06-05"},
    ("post", "/v1/welfare-funds/{party_id}/administration-costs"): {
        "amount": "1.00", "effective_date": "2024-06-05", "description": "stationery"},
}  # fmt: skip
MISSING_ID = 987654321
QUERY_VALUES = {"from": "2023-10-01", "to": "2024-09-30", "as_of": "2024-06-30", "day": "2024-06-30",
                "book_id": str(MISSING_ID)}  # fmt: skip
SECRET = "ZQX"  # in every text of the other party's objects, so that any leak of them is seen


def routes(api) -> list[tuple[str, str]]:
    paths = api.client.app.openapi()["paths"]
    found = [(method, path) for path, operations in paths.items() for method in operations]
    return sorted(route for route in found if route not in PUBLIC)


def ruled(api) -> list[tuple[str, str]]:
    """The routes that have a rule (one without fails `test_every_route_has_a_rule`)."""
    return [route for route in routes(api) if route in RULES]


def operation(api, method: str, path: str) -> dict:
    return api.client.app.openapi()["paths"][path][method]


def required_query(api, method: str, path: str) -> dict[str, str]:
    """Values for the query parameters a route requires (a route needing an unknown one fails)."""
    needed = [
        p["name"]
        for p in operation(api, method, path).get("parameters", [])
        if p["in"] == "query" and p.get("required")
    ]
    unknown = [name for name in needed if name not in QUERY_VALUES]
    assert not unknown, f"{method} {path}: add a value for the required query parameters {unknown} to QUERY_VALUES"
    return {name: QUERY_VALUES[name] for name in needed}


def concrete(path: str, ids: dict[str, int] | None = None) -> str:
    """The path with each parameter filled from `ids`, or with an id that does not exist."""
    return re.sub(r"\{([^}]+)\}", lambda m: str((ids or {}).get(m.group(1), MISSING_ID)), path)


def table_counts(db) -> dict[str, int]:
    with db.read() as connection:
        names = [r[0] for r in connection.execute(text(TABLE_NAMES[db.dialect]))]
        return {t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in names}


TABLE_NAMES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
}
# what every refused request still adds: its audit record and the moved head of the chain
AUDIT_TABLES = {"audit_record", "audit_head"}


def counts_but_audit(db) -> dict[str, int]:
    return {t: n for t, n in table_counts(db).items() if t not in AUDIT_TABLES}


@pytest.fixture
def unthrottled(api):
    """The app with the authentication throttle lifted, for tests that fail authentication on
    purpose far more often than any client may (the throttle has tests of its own)."""
    api.client.app.state.auth_throttle.max_failures = 10**9
    return api


# --- every route has a rule; no token, 401; roles outside the rule, 403 ------------------------


def test_every_route_has_a_rule(api):
    found = set(routes(api))
    assert not found - RULES.keys(), f"routes without an access rule: add them to RULES: {sorted(found - RULES.keys())}"
    assert not RULES.keys() - found, f"rules of routes that no longer exist: {sorted(RULES.keys() - found)}"
    assert len(found) >= 40


@pytest.mark.parametrize(
    "token", [None, "", "Bearer", "Bearer nonsense", "Basic YWRtaW46YWRtaW4=", "Bearer " + "x" * 300]
)
def test_every_route_needs_a_valid_token(unthrottled, token):
    headers = {} if token is None else {"Authorization": token}
    for method, path in routes(unthrottled):
        response = unthrottled.client.request(method, concrete(path), headers=headers, json={})
        assert response.status_code == 401, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["reason"] == "unauthenticated"


def test_an_auditor_writes_nothing_anywhere(api, db, fund):
    auditor = {"Authorization": f"Bearer {make_user(db, 'auditor', 'auditor')}", "Idempotency-Key": "try"}
    before = counts_but_audit(db)
    writes = [(m, p) for m, p in routes(api) if m in WRITES]
    assert writes
    for method, path in writes:
        response = api.client.request(method, concrete(path, {"book_id": fund["book_id"]}), headers=auditor, json={})
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert response.json()["reason"] == "forbidden"
    assert counts_but_audit(db) == before


@pytest.fixture
def tokens(db, fund) -> dict[str, str]:
    return {
        role: make_user(db, f"the-{role}", role, party_id=fund["borrower_id"] if role == "enterprise" else None)
        for role in sorted(ALL)
    }


def test_each_role_gets_exactly_what_its_rule_gives(api, db, tokens):
    """A role outside the rule: 403 whatever the body; inside: past the role check (the unknown
    ids and empty bodies sent here then fail later, with 404 or 422, and change nothing)."""
    before = counts_but_audit(db)
    for method, path in ruled(api):
        url, query = concrete(path), required_query(api, method, path)
        for role, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"k-{role}"}
            response = api.client.request(method, url, params=query, headers=headers, json={})
            allowed = role in RULES[(method, path)].roles
            assert (response.status_code == 403) != allowed, (role, method, path, response.status_code, response.text)
            assert response.status_code not in (401, 500), (role, method, path, response.text)
    after = counts_but_audit(db)
    # a bulk import answers 200 with a report of its rejected lines, and keeps it for its key
    kept = sum(len(RULES[route].roles) for route in IMPORTS)
    assert after.pop("idempotency_record") - before.pop("idempotency_record") == kept
    assert after == before


# --- a party-bound token meets nothing of another party ----------------------------------------


@pytest.fixture
def parties(api, db, fund) -> dict:
    """Two enterprises, each with its own book and an entry in it; the other one (B) also has a
    sub-ledger account in the fund's book and a disbursed loan there. Every text of B holds SECRET."""

    def created(path: str, body: dict, key: str | None = None) -> dict:
        response = api.post(path, body, key)
        assert response.status_code == 201, response.text
        return response.json()

    ids: dict[str, dict] = {}
    for name in ("mine", "other"):
        label = "Mine" if name == "mine" else SECRET
        party = created(
            "/v1/parties",
            {
                "kind": "community_enterprise",
                "name_th": f"{label} วิสาหกิจ",
                "name_en": f"{label} enterprise",
                "province": f"{label} province",
            },
        )
        book = created(
            "/v1/books",
            {"code": f"{label}-BOOK", "kind": "enterprise", "name_th": f"{label} book", "party_id": party["id"]},
        )
        accounts = {a["code"]: a["id"] for a in api.get(f"/v1/books/{book['id']}/accounts").json()["data"]}
        postings = [
            {"account_id": accounts["1100"], "amount": "500.00"},
            {"account_id": accounts["3100"], "amount": "-500.00"},
        ]
        entry = created(
            "/v1/entries",
            {
                "book_id": book["id"],
                "effective_date": "2024-06-01",
                "description": f"{label} capital",
                "postings": postings,
            },
            f"cap-{name}",
        )
        ids[name] = {
            "party_id": party["id"],
            "book_id": book["id"],
            "account_id": accounts["1100"],
            "entry_id": entry["id"],
        }
    other = ids["other"]
    account = created(
        f"/v1/books/{fund['book_id']}/accounts",
        {
            "code": "1200-B",
            "name_th": f"{SECRET} loan",
            "type": "asset",
            "parent_id": fund["1200"],
            "party_id": other["party_id"],
        },
    )
    cash = [(fund["1100"], "100000.00"), (fund["3100"], "-100000.00")]
    assert api.entry(fund["book_id"], cash, day="2024-01-02").status_code == 201
    product = created(
        "/v1/loan-products",
        {
            "book_id": fund["book_id"],
            "code": "P-12",
            "name_th": "สินเชื่อ",
            "rate_annual_percent": "12",
            "term_instalments": 3,
        },
    )
    officer = api.as_(make_user(db, "loan-officer", "officer"))
    loan = officer.post(
        "/v1/loans",
        {
            "product_id": product["id"],
            "borrower_party_id": other["party_id"],
            "amount": "10000.00",
            "savings": "1000.00",
            "purpose": f"{SECRET} purpose",
        },
    )
    assert loan.status_code == 201, loan.text
    loan_id = loan.json()["id"]
    assert api.post(f"/v1/loans/{loan_id}/approval", {}).status_code == 200
    paid = officer.post(
        f"/v1/loans/{loan_id}/disbursements", {"amount": "10000.00", "effective_date": "2024-01-31"}, "disburse"
    )
    assert paid.status_code == 201, paid.text
    other |= {
        "loan_id": loan_id,
        "fund_account_id": account["id"],
        "product_id": product["id"],
        "transaction_id": paid.json()["transaction"]["id"],
    }
    other |= _equity_and_welfare_of(created, other["party_id"])
    other |= {"organisation_id": other["party_id"]}
    token = make_user(db, "mine-token", "enterprise", party_id=ids["mine"]["party_id"])
    return {**ids, "client": api.as_(token)}


def _equity_and_welfare_of(created, enterprise: int) -> dict[str, int]:
    """The other party's share register (a member holding shares), the fund's investment in it,
    a distribution, a welfare fund's contribution rule for it and a sale of it."""
    member = created("/v1/parties", {"kind": "other", "name_th": f"{SECRET} สมาชิก"})["id"]
    share = created(f"/v1/enterprises/{enterprise}/share-classes",
                    {"code": "ORD", "name_th": f"{SECRET} หุ้น", "par_value": "100.00"})["id"]  # fmt: skip
    issue = {"kind": "issue", "effective_date": "2024-01-02", "share_class_id": share, "shares": 90,
             "to_party_id": member}  # fmt: skip
    created(f"/v1/enterprises/{enterprise}/register", {"events": [issue]}, "founding")
    investment = created("/v1/investments", {"enterprise_party_id": enterprise, "share_class_id": share, "shares": 10,
                                             "price": "1000.00", "effective_date": "2024-02-01"}, "invest")  # fmt: skip
    distribution = created(f"/v1/enterprises/{enterprise}/distributions", {
        "period_start": "2024-01-02", "period_end": "2024-03-31", "declared_on": "2024-04-05",
        "net_profit": "500.00", "dividend_rate_percent": "5"}, "declare")  # fmt: skip
    welfare = created("/v1/parties", {"kind": "welfare_fund", "name_th": f"{SECRET} กองทุน"})["id"]
    created("/v1/books", {"code": "WF", "kind": "welfare_fund", "name_th": f"{SECRET} กองทุน", "party_id": welfare})
    rule = created("/v1/contribution-rules", {"enterprise_party_id": enterprise, "fund_party_id": welfare,
                                              "rate_percent": "5", "effective_from": "2024-01-01"})  # fmt: skip
    sale = created("/v1/sales", {"enterprise_party_id": enterprise, "effective_date": "2024-06-08",
                                 "channel": "market", "amount": "1000.00"}, "sell")  # fmt: skip
    # a member of the other party, as a member token would meet it (issue 18)
    household = {"kind": "member", "name_th": f"{SECRET} ครัวเรือน", "member_of": enterprise}
    member_id = created("/v1/parties", household)["id"]
    return {"investment_id": investment["id"], "distribution_id": distribution["id"], "rule_id": rule["id"],
            "sale_id": sale["id"], "member_id": member_id}  # fmt: skip


def scoped_routes(api) -> list[tuple[str, str]]:
    return [r for r in ruled(api) if RULES[r].party == "scoped" and "enterprise" in RULES[r].roles]


def test_another_partys_object_is_answered_as_if_it_did_not_exist(api, db, parties):
    """For each scoped route, the other party's object gets the answer an unknown id gets, word
    for word but the number, and changes nothing."""
    mine, other = parties["client"], {**parties["other"], "account_id": parties["other"]["fund_account_id"]}
    headers = {**mine.headers(), "Idempotency-Key": "probe"}
    before = counts_but_audit(db)
    checked = 0
    for method, path in scoped_routes(api):
        names = re.findall(r"\{([^}]+)\}", path)
        if not names:
            continue
        unknown = [n for n in names if n not in other]
        assert not unknown, f"{method} {path}: give the other party an object for {unknown} in the parties fixture"
        query, body = required_query(api, method, path), BODIES.get((method, path)) if method == "post" else None
        theirs = api.client.request(method, concrete(path, other), params=query, headers=headers, json=body)
        missing = api.client.request(method, concrete(path), params=query, headers=headers, json=body)
        assert theirs.status_code == 404, (method, path, theirs.status_code, theirs.text)
        assert SECRET not in theirs.text
        # the other party's ids as whole numbers, at once (one id may be a digit of another)
        theirs_ids = "|".join(sorted({str(other[name]) for name in names}, key=len, reverse=True))
        detail = re.sub(rf"\b({theirs_ids})\b", str(MISSING_ID), theirs.json()["detail"])
        assert {**theirs.json(), "detail": detail} == missing.json(), (method, path)
        checked += 1
    assert checked >= 10
    also_accounts = api.client.get(f"/v1/accounts/{parties['other']['account_id']}", headers=mine.headers())
    assert also_accounts.status_code == 404
    assert counts_but_audit(db) == before


# Scoped reads whose look-up still does more for another party's object than for an unknown id:
# each waits for a change in files that other work owns now (docs/reliability.md, "open").
def statements_of(request) -> list[str]:
    """The SQL statements (their text, without the parameters) that `request()` makes run."""
    seen: list[str] = []

    def record(_connection, _cursor, statement, _parameters, _context, _executemany):
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        request()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return seen


def test_another_partys_object_costs_what_an_unknown_id_does(api, parties):
    """Not only the answer but the work: on each scoped read, the other party's object is refused
    by the very statements that refuse an unknown id (the same number, the same text), so the
    object is found together with the caller's right to it and nothing more of it is read. Its
    time then tells nothing either (reliability/timing.py measures that through a real server).
    The caller's token is known beforehand, and stays known, so that each side reads no token."""
    mine, other = parties["client"], {**parties["other"], "account_id": parties["other"]["fund_account_id"]}
    mine.client.app.state.known_tokens = KnownTokens(monotonic=lambda: 0.0)
    assert mine.get("/v1/books").status_code == 200
    gets = [path for method, path in scoped_routes(api) if method == "get" and "{" in path]
    assert len(gets) >= 15
    for path in gets:
        query = required_query(api, "get", path)
        theirs = statements_of(partial(mine.client.get, concrete(path, other), params=query, headers=mine.headers()))
        missing = statements_of(partial(mine.client.get, concrete(path), params=query, headers=mine.headers()))
        assert theirs == missing, (path, theirs[len(missing) - 1 :], missing[-1:])


def test_a_party_cannot_write_in_another_partys_book(api, db, parties):
    mine, other = parties["client"], parties["other"]
    before = counts_but_audit(db)
    lines = [(other["account_id"], "1.00"), (other["account_id"], "-1.00")]
    response = mine.entry(other["book_id"], lines)
    assert (response.status_code, response.json()["reason"]) == (404, "not_found")
    assert SECRET not in response.text
    reversal = mine.post(f"/v1/entries/{other['entry_id']}/reversal", {"date": "original"}, "undo-theirs")
    assert reversal.status_code == 404
    assert counts_but_audit(db) == before


def test_an_account_of_another_book_is_answered_as_an_unknown_one(api, db, fund, parties):
    """A party posting in its own book names an account of another party's book, of the fund's
    book, and an id nobody has: the same 404 for all three, naming only the id it was sent."""
    mine = parties["mine"]
    before = counts_but_audit(db)
    answers = []
    for stranger in (parties["other"]["account_id"], fund["1100"], 999_999):
        response = parties["client"].entry(mine["book_id"], [(mine["account_id"], "1.00"), (stranger, "-1.00")])
        body = response.json()
        answers.append((response.status_code, body["reason"], body["detail"].replace(str(stranger), "ID")))
        assert SECRET not in response.text
    assert answers == [(404, "not_found", "account ID does not exist or is not yours")] * 3
    assert counts_but_audit(db) == before


def test_nothing_of_another_party_is_in_any_answer(api, parties):
    """Every GET route a party may call, with its own ids, with the other party's ids, and with
    every id-valued query filter pointing at the other party: nothing of theirs comes back."""
    mine, other = parties["client"], {**parties["other"], "account_id": parties["other"]["fund_account_id"]}
    gets = [r for r in ruled(api) if r[0] == "get" and "enterprise" in RULES[r].roles]
    assert len(gets) >= 15
    for _, path in gets:
        filters = {
            p["name"]: other.get(p["name"])
            for p in operation(api, "get", path).get("parameters", [])
            if p["in"] == "query" and p["name"] in other
        }
        for ids in (parties["mine"], other):
            for query in ({}, filters, {**filters, "format": "csv"}):
                params = {**required_query(api, "get", path), **query}
                response = mine.client.get(concrete(path, ids), params=params, headers=mine.headers())
                assert response.status_code in (200, 404, 422), (path, response.status_code, response.text)
                assert SECRET not in response.text, (path, ids, query, response.text)
                assert f"/{other['party_id']}" not in response.headers.get("content-disposition", "")


def test_a_partys_lists_hold_its_own_rows_only(api, parties):
    mine = parties["client"]
    ids = parties["mine"]
    assert [p["id"] for p in mine.get("/v1/parties").json()["data"]] == [ids["party_id"]]
    assert [b["id"] for b in mine.get("/v1/books").json()["data"]] == [ids["book_id"]]
    assert [e["id"] for e in mine.get("/v1/entries").json()["data"]] == [ids["entry_id"]]
    assert mine.get("/v1/loans").json()["data"] == []
    assert mine.get("/v1/entries", party_id=parties["other"]["party_id"]).json()["data"] == []


# --- tokens: kept as hashes, revocable, expiring; failures throttled ---------------------------


def test_tokens_are_kept_only_as_their_hash(api, db):
    response = api.post("/v1/users", {"name": "keeper", "role": "auditor"})
    token = response.json()["token"]
    with db.read() as connection:
        stored = connection.execute(text("SELECT token_hash FROM app_user WHERE name = 'keeper'")).scalar_one()
        answers = connection.execute(text("SELECT response_body FROM idempotency_record")).scalars().all()
        audit = connection.execute(text("SELECT * FROM audit_record")).all()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in body for body in answers)
    assert not any(token in str(row) for row in audit)
    assert "token" not in api.get("/v1/users").text


def test_a_revoked_token_stops_working_at_once(api):
    created = api.post("/v1/users", {"name": "leaver", "role": "officer"}).json()
    leaver = api.as_(created["token"])
    assert leaver.get("/v1/books").status_code == 200
    assert api.post(f"/v1/users/{created['id']}/revoke", {}).status_code == 204
    assert leaver.get("/v1/books").status_code == 401
    assert api.post(f"/v1/users/{created['id']}/revoke", {}).status_code == 204  # revoking again changes nothing
    assert api.get("/v1/users").json()[-1]["revoked_at"] is not None


class Stopwatch:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def test_a_token_revoked_behind_the_apis_back_stops_working_once_its_holder_is_no_longer_trusted(api, db):
    stopwatch = Stopwatch()
    api.client.app.state.known_tokens = KnownTokens(seconds=1.0, monotonic=stopwatch)
    created = api.post("/v1/users", {"name": "restored-leaver", "role": "auditor"}).json()
    leaver = api.as_(created["token"])
    assert leaver.get("/v1/audit/digest").status_code == 200
    with db.write() as connection:  # as another process would: a second server, a restore
        connection.execute(text("UPDATE app_user SET revoked_at = created_at WHERE id = :id"), {"id": created["id"]})
    stopwatch.seconds = 0.9
    assert leaver.get("/v1/audit/digest").status_code == 200
    stopwatch.seconds = 1.0
    assert leaver.get("/v1/audit/digest").status_code == 401


class ForgottenDuringRead:
    """A database whose read is overtaken by a revocation: everything is forgotten meanwhile."""

    def __init__(self, db, known: KnownTokens) -> None:
        self.db, self.known = db, known

    @contextlib.contextmanager
    def read(self):
        with self.db.read() as connection:
            yield connection
            self.known.forget_all()


def test_a_holder_read_before_a_revocation_is_not_kept_after_it(db):
    token = make_user(db, "reader", "auditor")
    known = KnownTokens(monotonic=lambda: 0.0)
    assert known.principal(ForgottenDuringRead(db, known), token, now=NOW).name == "reader"
    twice = statements_of(lambda: [known.principal(db, token, now=NOW).name for _ in range(2)])
    assert sum("app_user" in statement for statement in twice) == 1  # read again once, then kept


def test_a_token_expires_when_it_says(api, clock):
    expiry = NOW + timedelta(hours=1)
    created = api.post("/v1/users", {"name": "temp", "role": "auditor", "expires_at": expiry.isoformat()}).json()
    temp = api.as_(created["token"])
    clock.moment = expiry - timedelta(seconds=1)
    assert temp.get("/v1/audit/digest").status_code == 200
    clock.moment = expiry
    assert temp.get("/v1/audit/digest").status_code == 401


@pytest.mark.parametrize("expires_at", ["2024-06-14T12:00:00", (NOW - timedelta(seconds=1)).isoformat(), "tomorrow"])
def test_an_expiry_must_be_a_future_moment_with_its_offset(api, expires_at):
    response = api.post("/v1/users", {"name": "bad-expiry", "role": "auditor", "expires_at": expires_at})
    assert (response.status_code, response.json()["reason"]) == (422, "invalid_request"), response.text


def test_repeated_failed_authentication_is_throttled(api, db):
    throttle = api.client.app.state.auth_throttle
    moment = [1000.0]
    throttle.clock = lambda: moment[0]
    valid = {"Authorization": f"Bearer {api.token}"}
    for _ in range(throttle.max_failures):
        assert api.client.get("/v1/books", headers={"Authorization": "Bearer guess"}).status_code == 401
    for headers in ({"Authorization": "Bearer guess"}, valid):  # a right guess now learns nothing either
        response = api.client.get("/v1/books", headers=headers)
        assert response.status_code == 429
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["reason"] == "too_many_attempts"
        assert int(response.headers["retry-after"]) == throttle.window_s
    moment[0] += throttle.window_s / 2
    assert int(api.client.get("/v1/books", headers=valid).headers["retry-after"]) == throttle.window_s / 2
    moment[0] += throttle.window_s / 2
    assert api.client.get("/v1/books", headers=valid).status_code == 200


def test_the_throttle_counts_per_address(api):
    throttle = api.client.app.state.auth_throttle
    for _ in range(throttle.max_failures):
        throttle.failed("198.51.100.7")
    assert throttle.retry_after_s("198.51.100.7")
    assert throttle.retry_after_s("testclient") is None
    assert api.get("/v1/books").status_code == 200
