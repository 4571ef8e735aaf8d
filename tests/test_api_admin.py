"""Registry, users and tokens, the audit trail through the API, the OpenAPI document, demo data."""

from datetime import timedelta

from store.demo import load_demo
from tests.conftest import NOW, make_user


def test_register_party_book_and_accounts(api):
    centre = api.post("/v1/parties", {"kind": "incubation_centre", "name_th": "ศูนย์บ่มเพาะ", "region": "north"}).json()
    group = api.post(
        "/v1/parties", {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์", "centre_id": centre["id"]}
    ).json()
    assert group["centre_id"] == centre["id"]
    book = api.post("/v1/books", {"code": "ENT-1", "kind": "enterprise", "name_th": "วิสาหกิจ", "party_id": group["id"]})
    assert book.status_code == 201, book.text
    codes = {a["code"] for a in api.get(f"/v1/books/{book.json()['id']}/accounts").json()["data"]}
    assert {"1100", "4100", "2200", "3100"} <= codes
    again = api.post("/v1/books", {"code": "ENT-1", "kind": "enterprise", "name_th": "ซ้ำ"})
    assert (again.status_code, again.json()["reason"]) == (409, "duplicate")
    account = api.post(
        f"/v1/books/{book.json()['id']}/accounts",
        {"code": "1110", "name_th": "เงินสดย่อย", "type": "asset", "balance_rule": "debit_or_zero"},
    )
    assert account.status_code == 201 and account.json()["balance"] == "0.00"
    twice = api.post(f"/v1/books/{book.json()['id']}/accounts", {"code": "1110", "name_th": "x", "type": "asset"})
    assert (twice.status_code, twice.json()["reason"]) == (409, "duplicate")
    bad_type = api.post(f"/v1/books/{book.json()['id']}/accounts", {"code": "9", "name_th": "x", "type": "cash"})
    assert (bad_type.status_code, bad_type.json()["reason"]) == (422, "invalid_request")
    unknown_centre = api.post("/v1/parties", {"kind": "network", "name_th": "x", "centre_id": 9999})
    assert unknown_centre.status_code == 404


def test_parent_account_must_be_in_the_same_book(api, fund):
    other = api.post("/v1/books", {"code": "WF-2", "kind": "welfare_fund", "name_th": "กองทุน"}).json()
    response = api.post(
        f"/v1/books/{other['id']}/accounts",
        {"code": "1201", "name_th": "x", "type": "asset", "parent_id": fund["1200"]},
    )
    assert (response.status_code, response.json()["reason"]) == (409, "account_not_in_book")


def test_users_tokens_revocation_and_expiry(api, db, clock):
    created = api.post("/v1/users", {"name": "officer-1", "role": "officer"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert api.as_(token).get("/v1/books").status_code == 200
    assert all("token" not in u and "token_hash" not in u for u in api.get("/v1/users").json())
    assert api.post(f"/v1/users/{created.json()['id']}/revoke", {}).status_code == 204
    assert api.as_(token).get("/v1/books").status_code == 401
    expiring = api.post(
        "/v1/users", {"name": "temp", "role": "auditor", "expires_at": (NOW + timedelta(hours=1)).isoformat()}
    )
    assert api.as_(expiring.json()["token"]).get("/v1/books").status_code == 200
    clock.moment = NOW + timedelta(hours=2)
    assert api.as_(expiring.json()["token"]).get("/v1/books").status_code == 401
    unbound = api.post("/v1/users", {"name": "ent", "role": "enterprise"})
    assert (unbound.status_code, unbound.json()["reason"]) == (422, "invalid_request")
    assert (
        api.as_(make_user(db, "off2", "officer")).post("/v1/users", {"name": "x", "role": "admin"}).status_code == 403
    )


def test_every_write_and_refused_write_is_audited(api, db, fund):
    api.entry(fund["book_id"], [(fund["1100"], "10.00"), (fund["3100"], "-10.00")], key="a-1")
    api.entry(fund["book_id"], [(fund["1100"], "10.00"), (fund["3100"], "-9.00")], key="a-2")
    auditor = api.as_(make_user(db, "aud", "auditor"))
    auditor.post("/v1/parties", {"kind": "network", "name_th": "x"})
    records = auditor.get("/v1/audit").json()["data"]
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("entry.post", "ok"),
        ("entry.post", "refused: unbalanced_entry"),
        ("POST /v1/parties", "refused: forbidden"),
    ]
    posted = records[0]
    assert posted["actor"] == "admin" and posted["idempotency_key"] == "a-1" and len(posted["entry_ids"]) == 1
    assert len(posted["request_hash"]) == 64 and posted["previous_hash"] == "0" * 64
    assert records[1]["previous_hash"] == posted["hash"]
    digest = auditor.get("/v1/audit/digest").json()
    assert digest == {"seq": 3, "hash": records[-1]["hash"]}
    verified = auditor.get("/v1/audit/verify", seq=digest["seq"], hash=digest["hash"]).json()
    assert verified["ok"] and verified["records_checked"] == 3


def test_openapi_lists_every_route_with_its_errors(api):
    spec = api.client.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {
        "/v1/entries", "/v1/entries/{entry_id}/reversal", "/v1/books/{book_id}/trial-balance",
        "/v1/accounts/{account_id}/statement", "/v1/audit/verify", "/v1/books/{book_id}/periods/close",
    }  # fmt: skip
    assert expected <= set(paths)
    for path, operations in paths.items():
        if path.startswith("/v1"):
            for operation in operations.values():
                assert {"401", "403", "404", "422"} <= set(operation["responses"]), path
    assert "Problem" in spec["components"]["schemas"]


def test_demo_data_loads_once_and_balances(db, api):
    demo = load_demo(db, now=NOW)
    token = demo.admin_token
    assert token and load_demo(db, now=NOW) is None
    demo = api.as_(token)
    book = demo.get("/v1/books").json()["data"][0]
    trial = demo.get(f"/v1/books/{book['id']}/trial-balance").json()
    assert trial["total_debit"] == trial["total_credit"] != "0.00"
    assert demo.get("/v1/audit/verify").json()["ok"]
