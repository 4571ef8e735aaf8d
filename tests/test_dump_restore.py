"""`codi-ledger dump` and `codi-ledger restore` carry a whole database between SQLite and
PostgreSQL, both ways: the restored database answers the same balances, statements, trial
balances and audit digest, its audit chain verifies, no user's token works there, and it takes
new writes with new ids. A restore refuses a database in use, another schema and a file cut short."""

import json
import os
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from api.app import create_app
from api.cli import main
from store import users
from store.dump import RestoreError, dump_file, restore_file
from store.engine import Database
from tests.conftest import NOW, Api, FixedClock, make_user

SERVER = os.environ.get("TEST_DATABASE_URL")
needs_postgres = pytest.mark.skipif(not SERVER, reason="needs TEST_DATABASE_URL")


@pytest.fixture
def fresh(tmp_path):
    """Makes freshly migrated databases of either dialect; drops them afterwards."""
    made: list[tuple[Database, str | None]] = []

    def make(dialect: str) -> Database:
        if dialect == "sqlite":
            database, name = Database(f"sqlite:///{tmp_path / uuid.uuid4().hex}.db"), None
        else:
            name = f"codi_dump_{uuid.uuid4().hex[:10]}"
            _server(f"CREATE DATABASE {name}")
            database = Database(make_url(SERVER).set(database=name).render_as_string(hide_password=False))
        database.migrate()
        made.append((database, name))
        return database

    yield make
    for database, name in made:
        database.dispose()
        if name:
            _server(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _server(statement: str) -> None:
    engine = create_engine(SERVER, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def client(db: Database, token: str) -> Api:
    return Api(TestClient(create_app(db, FixedClock(NOW + timedelta(days=30))), raise_server_exceptions=False), token)


def populate(api: Api, db: Database) -> None:
    """A little of everything: parties, books, accounts, entries and a reversal, a loan taken,
    disbursed and partly repaid, a closed period, a revoked user, refused writes (audited)."""

    def ok(response, status=201) -> dict:
        assert response.status_code == status, response.text
        return response.json() if response.content else {}

    group = ok(api.post("/v1/parties", {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์บ้านหนองบัว"}))
    fund = ok(api.post("/v1/books", {"code": "FUND", "kind": "fund", "name_th": "กองทุน"}))
    codes = {a["code"]: a["id"] for a in api.get(f"/v1/books/{fund['id']}/accounts", limit=500).json()["data"]}
    ok(
        api.post(
            f"/v1/books/{fund['id']}/accounts",
            {
                "code": "1200-01",
                "name_th": "ลูกหนี้ หนองบัว",
                "type": "asset",
                "balance_rule": "debit_or_zero",
                "parent_id": codes["1200"],
                "party_id": group["id"],
            },
        )
    )
    ok(api.entry(fund["id"], [(codes["1100"], "500000.00"), (codes["3100"], "-500000.00")], day="2024-01-02"))
    grant = ok(
        api.entry(
            fund["id"],
            [(codes["5100"], "1234.56"), (codes["1100"], "-1234.56")],
            day="2024-02-10",
            dimensions={"province": "Nakhon Sawan"},
        )
    )
    ok(api.post(f"/v1/entries/{grant['id']}/reversal", {"date": "original"}, "undo-grant"))
    assert api.entry(fund["id"], [(codes["1100"], "1.00"), (codes["3100"], "-2.00")]).status_code == 422
    product = ok(
        api.post(
            "/v1/loan-products",
            {
                "book_id": fund["id"],
                "code": "P12",
                "name_th": "สินเชื่อ",
                "rate_annual_percent": "12",
                "term_instalments": 3,
            },
        )
    )
    officer = api.as_(make_user(db, "officer", "officer"))
    loan = ok(
        officer.post(
            "/v1/loans",
            {
                "product_id": product["id"],
                "borrower_party_id": group["id"],
                "amount": "10000.00",
                "savings": "1000.00",
                "guarantors": [{"name": "นายสมชาย ใจดี"}],
            },
        )
    )
    ok(api.post(f"/v1/loans/{loan['id']}/approval", {}), 200)
    ok(
        officer.post(
            f"/v1/loans/{loan['id']}/disbursements", {"amount": "10000.00", "effective_date": "2024-01-31"}, "d1"
        )
    )
    ok(officer.post(f"/v1/loans/{loan['id']}/repayments", {"amount": "3400.22", "effective_date": "2024-02-29"}, "r1"))
    ok(api.post(f"/v1/books/{fund['id']}/periods/close", {"period": "2024-01"}), 200)
    leaver = ok(api.post("/v1/users", {"name": "leaver", "role": "auditor"}))
    ok(api.post(f"/v1/users/{leaver['id']}/revoke", {}), 204)


def observed(api: Api) -> dict:
    """What the ledger answers: every book's trial balance now and at a past date, every
    account's balance and statement, every entry and loan, the audit digest."""
    seen: dict = {"digest": api.get("/v1/audit/digest").json(), "loans": api.get("/v1/loans").json()}
    seen["entries"] = api.get("/v1/entries", limit=500).json()
    for book in api.get("/v1/books").json()["data"]:
        seen[f"tb {book['id']}"] = api.get(f"/v1/books/{book['id']}/trial-balance").json()
        seen[f"tb {book['id']} Feb"] = api.get(f"/v1/books/{book['id']}/trial-balance", as_of="2024-02-15").json()
        for account in api.get(f"/v1/books/{book['id']}/accounts", limit=500).json()["data"]:
            path = f"/v1/accounts/{account['id']}"
            seen[path] = account
            seen[path + " statement"] = api.get(
                path + "/statement", **{"from": "2023-10-01", "to": "2024-09-30"}
            ).json()
    for loan in seen["loans"]["data"]:
        seen[f"loan {loan['id']}"] = api.get(f"/v1/loans/{loan['id']}/statement").json()
    return seen


def admin_of(db: Database) -> str:
    with db.write() as connection:
        return users.add_user(connection, name=f"admin-{uuid.uuid4().hex[:6]}", role="admin", party_id=None, now=NOW)[1]


DIRECTIONS = [
    ("sqlite", "sqlite"),
    pytest.param("sqlite", "postgresql", marks=needs_postgres),
    pytest.param("postgresql", "sqlite", marks=needs_postgres),
]


@pytest.mark.parametrize(("source_dialect", "target_dialect"), DIRECTIONS)
def test_a_database_survives_dump_and_restore(fresh, tmp_path, source_dialect, target_dialect):
    source, target = fresh(source_dialect), fresh(target_dialect)
    token = admin_of(source)
    populate(client(source, token), source)
    before = observed(client(source, token))
    assert before["digest"]["seq"] > 10
    path = tmp_path / "ledger.dump"
    dumped = dump_file(source, path)
    assert dumped.rows["entry"] == len(before["entries"]["data"]) == 5
    assert '"token_hash"' not in path.read_text(encoding="utf-8")

    restored = restore_file(target, path)
    assert restored == dumped
    assert client(target, token).get("/v1/books").status_code == 401  # tokens are not carried
    api = client(target, admin_of(target))
    after = observed(api)
    assert {k: v for k, v in after.items() if k != "digest"} == {k: v for k, v in before.items() if k != "digest"}
    assert after["digest"]["seq"] == before["digest"]["seq"] + 0 and after["digest"] == before["digest"]
    assert api.get("/v1/audit/verify", **before["digest"]).json()["ok"]

    # the restored database takes new writes, with ids after the restored ones
    book = api.get("/v1/books").json()["data"][0]
    codes = {a["code"]: a["id"] for a in api.get(f"/v1/books/{book['id']}/accounts", limit=500).json()["data"]}
    new = api.entry(book["id"], [(codes["1100"], "10.00"), (codes["3100"], "-10.00")], day="2024-06-01")
    assert new.status_code == 201, new.text
    assert new.json()["id"] > max(e["id"] for e in before["entries"]["data"])
    party = api.post("/v1/parties", {"kind": "other", "name_th": "ใหม่"})
    assert party.status_code == 201, party.text
    closed = api.entry(book["id"], [(codes["1100"], "10.00"), (codes["3100"], "-10.00")], day="2024-01-15")
    assert closed.json()["reason"] == "period_closed"  # the closed period came along


def test_the_command_line_dumps_restores_and_verifies(fresh, tmp_path, monkeypatch, capsys):
    source, target = fresh("sqlite"), fresh("sqlite")
    populate(client(source, admin_of(source)), source)
    path = tmp_path / "cli.dump"
    monkeypatch.setenv("DATABASE_URL", source.url)
    assert main(["dump", str(path)]) == 0
    monkeypatch.setenv("DATABASE_URL", target.url)
    assert main(["restore", str(path)]) == 0
    assert main(["audit", "verify"]) == 0
    assert "audit chain verified" in capsys.readouterr().out
    assert main(["restore", str(path)]) == 1  # not into a database in use
    assert "not empty" in capsys.readouterr().err


def test_a_restore_refuses_what_it_cannot_restore_whole(fresh, tmp_path):
    source = fresh("sqlite")
    populate(client(source, admin_of(source)), source)
    path = tmp_path / "whole.dump"
    dump_file(source, path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)

    target = fresh("sqlite")
    cut = tmp_path / "cut.dump"
    cut.write_text("".join(lines[:-1]), encoding="utf-8")
    with pytest.raises(RestoreError, match="cut short"):
        restore_file(target, cut)
    other_schema = tmp_path / "schema.dump"
    header = json.loads(lines[0]) | {"schema": "0001"}
    other_schema.write_text(json.dumps(header) + "\n" + "".join(lines[1:]), encoding="utf-8")
    with pytest.raises(RestoreError, match="schema"):
        restore_file(target, other_schema)
    tampered = tmp_path / "tampered.dump"
    tampered.write_text("".join(_with_an_audit_record_changed(lines)), encoding="utf-8")
    with pytest.raises(RestoreError, match="audit chain"):
        restore_file(target, tampered)
    with target.read() as connection:  # each refusal left nothing behind
        assert connection.execute(text("SELECT count(*) FROM entry")).scalar_one() == 0
    restore_file(target, path)


def _with_an_audit_record_changed(lines: list[str]) -> list[str]:
    changed = list(lines)
    for number, line in enumerate(changed):
        item = json.loads(line)
        if item.get("t") == "audit_record":
            item["r"]["outcome"] = "refused: nothing"
            changed[number] = json.dumps(item, ensure_ascii=False) + "\n"
            return changed
    raise AssertionError("no audit record in the dump")
