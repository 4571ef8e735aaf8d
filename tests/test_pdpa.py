"""Personal data under Thailand's PDPA: personal fields are few and marked; a national ID number
is checked on the way in, refused by the database unless 13 digits, one party's only (unless an
admin marks a known duplicate), and masked on every way out for every role but admin, saved
answers and their replays included; a party's data comes out whole in one request, and never
with a secret, and its personal data is erased wherever it is held; nothing personal, and no
token, reaches the server's logs."""

import json
import logging

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from api.personal import mask, valid_national_id
from store import books
from store.dump import dump_file
from tests.conftest import make_user

NATIONAL_ID = "1101700230708"  # check digit: 1x13+1x12+0+1x10+7x9+0+0+2x6+3x5+0+7x3+0 = 146; (11 - 146 % 11) % 10 = 8
MASKED_ID = "*********0708"
ROLES = ("officer", "approver", "auditor", "enterprise")


def twelve_digits():
    return st.text(alphabet="0123456789", min_size=12, max_size=12)


def check_digit(prefix: str) -> str:
    return str((11 - sum(int(d) * (13 - i) for i, d in enumerate(prefix)) % 11) % 10)


@given(twelve_digits())
def test_exactly_one_check_digit_completes_an_id(prefix):
    assert [d for d in "0123456789" if valid_national_id(prefix + d)] == [check_digit(prefix)]


@given(twelve_digits())
def test_a_masked_id_shows_its_last_four_digits_only(prefix):
    number = prefix + check_digit(prefix)
    assert mask(number) == "*" * 9 + number[-4:]


def test_personal_fields_are_few_and_marked():
    """A field is personal on purpose: adding one means adding it here."""
    marked = {
        (table.name, column.name, "masked" if column.info.get("masked") else "shown")
        for table in SQLModel.metadata.tables.values()
        for column in table.columns
        if column.info.get("personal")
    }
    assert marked == {
        ("party", "national_id", "masked"),
        ("party", "contact", "shown"),
        ("loan", "guarantors", "shown"),
    }
    secrets = {(t.name, c.name) for t in SQLModel.metadata.tables.values() for c in t.columns if c.info.get("secret")}
    assert secrets == {("app_user", "token_hash")}


@pytest.fixture
def person(api) -> dict:
    response = api.post("/v1/parties", {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์", "national_id": NATIONAL_ID,
                                        "contact": "นางสาวมาลี 081-234-5678"})  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["national_id"] == NATIONAL_ID  # the admin who made it
    return response.json()


@pytest.mark.parametrize(
    "number", ["1101700230707", "110170023070", "11017002307080", "11017OO230708", "๑๑๐๑๗๐๐๒๓๐๗๐๘"]
)
def test_a_national_id_must_be_13_digits_with_its_check_digit(api, number):
    response = api.post("/v1/parties", {"kind": "other", "name_th": "x", "national_id": number})
    assert (response.status_code, response.json()["reason"]) == (422, "invalid_request"), response.text
    assert number not in response.text  # the refusal does not echo it


@pytest.mark.parametrize("number", ["12345", "1101700230708x", "abcdefghijklm"])
def test_the_database_refuses_a_malformed_national_id(db, number):
    with pytest.raises(DBAPIError), db.write() as connection:  # a CHECK, or PostgreSQL's VARCHAR(13)
        connection.execute(
            text("INSERT INTO party (kind, name_th, created_at, national_id) VALUES ('other', 'x', :t, :n)"),
            {"t": "2024-06-14 03:00:00+00:00", "n": number},
        )


def test_the_national_id_is_masked_for_every_role_but_admin(api, db, person):
    for role in ROLES:
        token = make_user(db, f"a-{role}", role, party_id=person["id"] if role == "enterprise" else None)
        reader = api.as_(token)
        one = reader.get(f"/v1/parties/{person['id']}").json()
        listed = next(p for p in reader.get("/v1/parties").json()["data"] if p["id"] == person["id"])
        exported = reader.get(f"/v1/parties/{person['id']}/export").json()
        for seen in (one, listed, exported["party"]):
            assert seen["national_id"] == MASKED_ID, role
        assert NATIONAL_ID not in reader.get(f"/v1/parties/{person['id']}/export").text
    assert api.get(f"/v1/parties/{person['id']}").json()["national_id"] == NATIONAL_ID
    officer = api.as_(make_user(db, "registrar", "officer"))
    another_id = "310060000001" + check_digit("310060000001")
    made = officer.post("/v1/parties", {"kind": "other", "name_th": "y", "national_id": another_id})
    assert made.json()["national_id"] == "*********" + another_id[-4:]  # even to the officer who typed it


def test_a_partys_data_comes_out_whole_in_one_request(api, db, fund, person):
    book = api.post("/v1/books", {"code": "OWN", "kind": "enterprise", "name_th": "บัญชี", "party_id": person["id"]})
    own = {a["code"]: a["id"] for a in api.get(f"/v1/books/{book.json()['id']}/accounts").json()["data"]}
    sub_ledger = {"code": "1200-P", "name_th": "ลูกหนี้", "type": "asset", "parent_id": fund["1200"],
                  "party_id": person["id"]}  # fmt: skip
    sub = api.post(f"/v1/books/{fund['book_id']}/accounts", sub_ledger)
    assert api.entry(book.json()["id"], [(own["1100"], "70.00"), (own["3100"], "-70.00")]).status_code == 201
    assert api.entry(fund["book_id"], [(fund["1100"], "9.00"), (fund["3100"], "-9.00")]).status_code == 201
    grant = api.entry(fund["book_id"], [(sub.json()["id"], "5.00"), (fund["1100"], "-5.00")])
    make_user(db, "its-token", "enterprise", party_id=person["id"])
    other_id = "310060000001" + check_digit("310060000001")
    other = api.post("/v1/parties", {"kind": "other", "name_th": "ไม่เกี่ยว", "national_id": other_id})
    assert other.status_code == 201, other.text

    export = api.get(f"/v1/parties/{person['id']}/export")
    assert export.status_code == 200, export.text
    body = export.json()
    assert body["party"]["id"] == person["id"] and body["party"]["contact"] == person["contact"]
    records = body["records"]
    assert [b["code"] for b in records["book"]] == ["OWN"]
    assert {a["id"] for a in records["account"]} == set(own.values()) | {sub.json()["id"]}
    assert [u["name"] for u in records["app_user"]] == ["its-token"]
    assert all("token_hash" not in u for u in records["app_user"])
    assert [p["amount_satang"] for p in records["posting"]] == [500]  # on its sub-ledger account
    assert [e["id"] for e in body["entries"]] == [1, grant.json()["id"]]  # its own book's, and the one on its account
    assert "ไม่เกี่ยว" not in export.text and other_id not in export.text


def test_a_party_exports_its_own_data_only(api, db, person, fund):
    its = api.as_(make_user(db, "its-own", "enterprise", party_id=person["id"]))
    assert its.get(f"/v1/parties/{person['id']}/export").status_code == 200
    refused = its.get(f"/v1/parties/{fund['borrower_id']}/export")
    assert (refused.status_code, refused.json()["reason"]) == (404, "not_found")


def test_no_token_or_personal_data_reaches_the_logs(api, db, person, caplog, monkeypatch):
    """Every request kind, and an unexpected failure whose message carries personal data: the
    log names the failure and where it happened, never the message."""
    caplog.set_level(logging.DEBUG)
    api.get(f"/v1/parties/{person['id']}")
    api.post("/v1/parties", {"kind": "other", "name_th": "z", "national_id": "1101700230707"})
    api.client.get("/v1/books", headers={"Authorization": "Bearer codi_wrong-token-in-the-logs?"})

    def fails(*_args, **_kwargs):
        raise RuntimeError(f"failed for {NATIONAL_ID} at {person['contact']} with {api.token}")

    monkeypatch.setattr(books, "get_party", fails)
    broken = api.get(f"/v1/parties/{person['id']}")
    assert broken.status_code == 500 and NATIONAL_ID not in broken.text
    logged = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    assert "RuntimeError" in logged  # the failure is logged, without its message
    for secret in (api.token, "codi_wrong-token-in-the-logs?", NATIONAL_ID, person["contact"], "1101700230707"):
        assert secret not in logged


# --- where else a national ID travels, and one party a number ------------------------------------

SECOND_ID = "310060000001" + check_digit("310060000001")


def create_with_key(api, body: dict, key: str = "party-1"):
    return api.post("/v1/parties", body, key)


def saved_answers(db) -> list[str]:
    with db.read() as connection:
        return list(connection.execute(text("SELECT response_body FROM idempotency_record")).scalars())


def test_a_saved_answer_holds_the_national_id_masked_and_a_replay_shows_it_so(api, db):
    """The admin sees the number in full when the party is made; the answer kept for replays,
    and so every replay (the admin's too), shows it masked. The party itself still shows it."""
    body = {"kind": "savings_group", "name_th": "กลุ่ม", "national_id": NATIONAL_ID, "contact": "081-234-5678"}
    made = create_with_key(api, body)
    assert made.json()["national_id"] == NATIONAL_ID
    replayed = create_with_key(api, body)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == {**made.json(), "national_id": MASKED_ID}
    assert all(NATIONAL_ID not in answer for answer in saved_answers(db))
    assert api.get(f"/v1/parties/{made.json()['id']}").json()["national_id"] == NATIONAL_ID


def test_the_dump_carries_a_national_id_in_the_party_table_only(api, db, tmp_path):
    """The dump is the database: it carries the party table whole (it must restore it), so it
    is as personal as the database; nothing else in it holds the number."""
    create_with_key(api, {"kind": "other", "name_th": "x", "national_id": NATIONAL_ID})
    assert api.get("/v1/parties").status_code == 200
    dump_file(db, tmp_path / "dump.jsonl")
    holding = [line for line in (tmp_path / "dump.jsonl").read_text().splitlines() if NATIONAL_ID in line]
    assert [json.loads(line)["t"] for line in holding] == ["party"]


def test_erasure_reaches_the_party_and_the_answers_saved_with_its_data(api, db):
    body = {"kind": "other", "name_th": "x", "national_id": NATIONAL_ID, "contact": "นายสมชาย 089-000-0000"}
    party_id = create_with_key(api, body).json()["id"]
    exported = api.get(f"/v1/parties/{party_id}/export").json()["records"]["idempotency_record"]
    assert [r["key"] for r in exported] == ["party-1"]  # the export reaches the saved answer too
    assert "089-000-0000" in exported[0]["response_body"] and NATIONAL_ID not in exported[0]["response_body"]

    erased = api.post(f"/v1/parties/{party_id}/erasure", {}, "erase-1")
    assert erased.status_code == 200, erased.text
    assert (erased.json()["national_id"], erased.json()["contact"], erased.json()["name_th"]) == (None, None, "x")
    replayed = create_with_key(api, body)
    assert (replayed.json()["national_id"], replayed.json()["contact"]) == (None, None)
    for answer in saved_answers(db):
        assert "0708" not in answer and "089-000-0000" not in answer
    with db.read() as connection:
        actions = connection.execute(text("SELECT action, target FROM audit_record ORDER BY seq")).all()
    assert actions[-1] == ("party.erase-personal-data", f"party:{party_id}")
    # the number is free again: erased, it belongs to no party
    assert api.post("/v1/parties", {"kind": "other", "name_th": "y", "national_id": NATIONAL_ID}).status_code == 201


def test_a_national_id_another_party_has_is_refused(api, db, person):
    refused = api.post("/v1/parties", {"kind": "other", "name_th": "twice", "national_id": NATIONAL_ID})
    assert (refused.status_code, refused.json()["reason"]) == (409, "duplicate_national_id"), refused.text
    assert NATIONAL_ID not in refused.text
    officer = api.as_(make_user(db, "registrar", "officer"))
    marked = {"kind": "other", "name_th": "twice", "national_id": NATIONAL_ID, "known_duplicate": True}
    by_officer = officer.post("/v1/parties", marked)
    assert (by_officer.status_code, by_officer.json()["reason"]) == (403, "forbidden")
    assert [p["id"] for p in api.get("/v1/parties").json()["data"]] == [person["id"]]


def test_an_admin_may_register_a_known_duplicate_and_the_audit_log_says_so(api, db, person):
    marked = {"kind": "other", "name_th": "twice", "national_id": NATIONAL_ID, "known_duplicate": True}
    made = api.post("/v1/parties", marked)
    assert made.status_code == 201, made.text
    assert (made.json()["national_id"], made.json()["known_duplicate"]) == (NATIONAL_ID, True)
    with db.read() as connection:
        action, target = connection.execute(text("SELECT action, target FROM audit_record ORDER BY seq DESC")).first()
    assert (action, target) == ("party.create-known-duplicate", f"party:{made.json()['id']}")
    again = api.post("/v1/parties", {"kind": "other", "name_th": "thrice", "national_id": NATIONAL_ID})
    assert (again.status_code, again.json()["reason"]) == (409, "duplicate_national_id")  # the first holds it


INSERT_PARTY = (
    "INSERT INTO party (kind, name_th, created_at, national_id, known_duplicate) VALUES ('other', 'x', :t, :n, :marked)"
)


def test_the_database_refuses_a_second_unmarked_party_with_a_national_id(db):
    row = {"t": "2024-06-14 03:00:00+00:00", "n": NATIONAL_ID}
    with db.write() as connection:
        connection.execute(text(INSERT_PARTY), {**row, "marked": False})
        connection.execute(text(INSERT_PARTY), {**row, "marked": True})  # a known duplicate
        connection.execute(text(INSERT_PARTY), {**row, "n": SECOND_ID, "marked": False})
    with pytest.raises(IntegrityError), db.write() as connection:
        connection.execute(text(INSERT_PARTY), {**row, "marked": False})


def test_the_tables_match_the_migration(db):
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert [d for d in differences if "'party'" in repr(d) or "idempotency_record" in repr(d)] == []
