"""Everything a request can make large is bounded, and each bound answers its own clear
problem+json: the body's size (413), a page's `limit`, the postings of an entry, the length of
every string, the size of an amount, the Idempotency-Key (422). Nothing is recorded."""

import pytest
from sqlalchemy import text

from api.middleware import MAX_BODY_BYTES
from api.pages import MAX_LIMIT
from ledger.accounts import MAX_POSTINGS_PER_ENTRY


def refused(response, status: int, reason: str) -> dict:
    assert (response.status_code, response.json()["reason"]) == (status, reason), response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def entries(db) -> int:
    with db.read() as connection:
        return connection.execute(text("SELECT count(*) FROM entry")).scalar_one()


def test_a_body_above_the_bound_is_refused_before_it_is_read(api, db, fund):
    padding = "x" * MAX_BODY_BYTES
    body = {"book_id": fund["book_id"], "effective_date": "2024-06-01", "description": padding, "postings": []}
    problem = refused(api.post("/v1/entries", body, "big"), 413, "request_too_large")
    assert str(MAX_BODY_BYTES) in problem["detail"]
    assert entries(db) == 0


def test_a_chunked_body_is_bounded_while_it_is_read(api):
    def chunks():
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    headers = {**api.headers("chunked"), "Content-Type": "application/json"}
    response = api.client.post("/v1/parties", content=chunks(), headers=headers)
    refused(response, 413, "request_too_large")


def test_a_body_just_inside_the_bound_is_read(api):
    body = b'{"kind": "other", "name_th": "ok"}'
    headers = {**api.headers("inside-the-bound"), "Content-Type": "application/json"}
    assert api.client.post(
        "/v1/parties", content=body + b" " * (MAX_BODY_BYTES - len(body)), headers=headers
    ).is_success


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, "ten"])
def test_a_page_limit_is_bounded(api, limit):
    refused(api.get("/v1/entries", limit=limit), 422, "invalid_request")


def test_the_largest_page_is_served(api):
    assert api.get("/v1/entries", limit=MAX_LIMIT).status_code == 200


def test_an_entry_has_a_bounded_number_of_postings(api, db, fund):
    lines = [(fund["1100"], "1.00"), (fund["3100"], "-1.00")] * (MAX_POSTINGS_PER_ENTRY // 2) + [(fund["1100"], "1.00")]
    problem = refused(api.entry(fund["book_id"], lines), 422, "too_many_postings")
    assert str(MAX_POSTINGS_PER_ENTRY) in problem["detail"]
    assert entries(db) == 0


@pytest.mark.parametrize(
    ("path", "field", "longest"),
    [("/v1/parties", "name_th", 200), ("/v1/parties", "province", 80), ("/v1/parties", "contact", 200)],
)
def test_strings_are_bounded(api, path, field, longest):
    body = {"kind": "other", "name_th": "n"}
    assert api.post(path, {**body, field: "ก" * longest}).status_code == 201
    problem = refused(api.post(path, {**body, field: "ก" * (longest + 1)}), 422, "invalid_request")
    assert field in problem["detail"]


def test_an_entrys_texts_are_bounded(api, fund):
    lines = [(fund["1100"], "1.00"), (fund["3100"], "-1.00")]
    refused(api.entry(fund["book_id"], lines, description="d" * 501), 422, "invalid_request")
    refused(api.entry(fund["book_id"], lines, dimensions={"k": "v" * 101}), 422, "invalid_request")
    refused(api.entry(fund["book_id"], lines, dimensions={f"k{i}": "v" for i in range(9)}), 422, "invalid_request")


@pytest.mark.parametrize(
    ("amount", "reason"),
    [("1000000000000.00", "amount_too_large"), ("999999999999.999", "malformed_amount"), ("1e3", "malformed_amount"),
     ("NaN", "malformed_amount"), ("", "malformed_amount"), ("9" * 40, "malformed_amount")],
)  # fmt: skip
def test_amounts_are_bounded(api, db, fund, amount, reason):
    lines = [(fund["1100"], amount), (fund["3100"], "-1.00")]
    refused(api.entry(fund["book_id"], lines), 422, reason)
    assert entries(db) == 0


def test_the_largest_amount_is_taken(api, fund):
    lines = [(fund["1100"], "999999999999.99"), (fund["3100"], "-999999999999.99")]
    assert api.entry(fund["book_id"], lines).status_code == 201


def test_an_idempotency_key_is_bounded(api, fund):
    lines = [(fund["1100"], "1.00"), (fund["3100"], "-1.00")]
    refused(api.entry(fund["book_id"], lines, key="k" * 201), 422, "invalid_request")
    assert api.entry(fund["book_id"], lines, key="k" * 200).status_code == 201


def test_query_strings_are_bounded(api):
    refused(api.get("/v1/entries", cursor="c" * 41), 422, "invalid_request")
    refused(api.get("/v1/entries", kind="k" * 41), 422, "invalid_request")
    refused(api.get("/v1/entries", book_id=2**63), 422, "invalid_request")
