"""Every create takes an Idempotency-Key, as entries do (invariant 5), and a refusal of a role
names the roles that may act.

The create routes are read from the app itself: every POST that answers 201 or 202. Each must
refuse a request without a key (422 idempotency_key_required) once the caller's role is allowed,
and before it reads the body, so a route added later cannot forget it. A party, a loan product
and a loan application sent twice under one key are one object with one answer; the same key
with another body is the project's conflict (409 idempotency_key_reused).
"""

import re

from tests.conftest import NO_KEY, make_user
from tests.test_api_loans import application, lender, product_body  # noqa: F401 (fixture)

MISSING_ID = 987654321
CREATED = {"201", "202"}


def create_routes(api) -> list[str]:
    paths = api.client.app.openapi()["paths"]
    return sorted(path for path, operations in paths.items()
                  if CREATED & set(operations.get("post", {}).get("responses", {})))  # fmt: skip


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(MISSING_ID), path)


def reason(response) -> tuple[int, str]:
    return response.status_code, response.json()["reason"]


def test_every_create_route_needs_a_key(api, db):
    routes = create_routes(api)
    assert {"/v1/parties", "/v1/loans", "/v1/loan-products", "/v1/entries", "/v1/users"} <= set(routes)
    auditor = api.as_(make_user(db, "auditor", "auditor"))
    for path in routes:
        url = concrete(path)
        assert reason(api.post(url, {}, NO_KEY)) == (422, "idempotency_key_required"), path
        # with a key, the empty body is what is wrong; the auditor meets its role before the key
        assert reason(api.post(url, {}, "k")) != (422, "idempotency_key_required"), path
        assert reason(auditor.post(url, {}, NO_KEY)) == (403, "forbidden"), path


def test_no_key_on_a_write_that_creates_nothing_is_still_taken(api, fund):
    # a PATCH or a state change (approval, closing a period) is not a create: no key needed
    party = api.post("/v1/parties", {"kind": "other", "name_th": "ก"}).json()
    changed = api.client.patch(f"/v1/parties/{party['id']}", json={"name_th": "ข"}, headers=api.headers())
    assert changed.status_code == 200, changed.text


def twice(api, path: str, body: dict, other: dict) -> dict:
    """Send `body` twice under one key, then `other` under it: one object, the same answer, 409."""
    first, again = api.post(path, body, "double-submit"), api.post(path, body, "double-submit")
    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert reason(api.post(path, other, "double-submit")) == (409, "idempotency_key_reused")
    return first.json()


def test_a_party_sent_twice_is_one_party(api):
    body = {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์บ้านนา"}
    party = twice(api, "/v1/parties", body, {**body, "name_th": "กลุ่มอื่น"})
    named = api.get("/v1/parties", name="บ้านนา").json()["data"]
    assert [p["id"] for p in named] == [party["id"]]


def test_a_loan_product_sent_twice_is_one_product(api, fund):
    body = product_body(fund)
    product = twice(api, "/v1/loan-products", body, {**body, "code": "OTHER"})
    assert [p["id"] for p in api.get("/v1/loan-products").json()["data"]] == [product["id"]]


def test_a_loan_application_sent_twice_is_one_loan(api, lender):  # noqa: F811 (fixture)
    body = application(lender)
    officer = lender["officer"]
    loan = twice(officer, "/v1/loans", body, {**body, "amount": "9000.00"})
    assert [x["id"] for x in api.get("/v1/loans").json()["data"]] == [loan["id"]]


def test_a_refused_role_is_told_who_may(api, db):
    auditor = api.as_(make_user(db, "auditor", "auditor"))
    refused = auditor.post("/v1/parties", {"kind": "other", "name_th": "ก"})
    problem = refused.json()
    assert (refused.status_code, problem["reason"]) == (403, "forbidden")
    assert problem["allowed_roles"] == ["admin", "officer"]
    assert "admin, officer" in problem["detail"]
    closing = auditor.post("/v1/close-of-business", {"date": "2024-06-30"})
    assert closing.json()["allowed_roles"] == ["admin"]
    officer = api.as_(make_user(db, "officer", "officer"))
    duplicate = officer.post("/v1/parties", {"kind": "other", "name_th": "ก", "known_duplicate": True})
    assert (duplicate.status_code, duplicate.json()["allowed_roles"]) == (403, ["admin"])
