"""Tampering with the audit trail behind the API's back, and finding it (invariant 11).

The writes go through the real app; the tampering is raw SQL on the database, after removing
the trigger that makes audit records append-only (an attacker with the database's owner rights
can do that). Verification, through the API and through the `codi-ledger audit verify`
command, must then fail and name the first record that no longer fits the chain. A digest kept
earlier catches even a tail rewritten with correct hashes.
"""

import hashlib
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from api import cli
from tests.conftest import ON_POSTGRES

GENESIS = "0" * 64
OPEN_DATABASE = cli.database
COLUMNS = (
    "seq, recorded_at, actor, role, action, target, request_id, idempotency_key, "
    "request_hash, outcome, entry_ids, content, previous_hash, hash"
)


def record_hash(previous_hash: str, row: dict) -> str:
    """The hash the design prescribes, computed here on our own: SHA-256 of the previous hash
    and the canonical record (every column but the two hashes, as sorted, compact JSON; the
    content too, but in records written before there was any)."""
    fields = {k: v for k, v in row.items() if k not in ("previous_hash", "hash") and (k, v) != ("content", None)}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(previous_hash.encode() + canonical.encode()).hexdigest()


def records(db) -> list[dict]:
    with db.read() as connection:
        rows = connection.execute(text(f"SELECT {COLUMNS} FROM audit_record ORDER BY seq"))
        return [dict(r) for r in rows.mappings()]


def unlock(db) -> None:
    """What an attacker does first: take away the append-only trigger."""
    with db.write() as connection:
        if ON_POSTGRES:
            connection.execute(text("ALTER TABLE audit_record DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_record_no_update"))
            connection.execute(text("DROP TRIGGER audit_record_no_delete"))


def tamper(db, sql: str, **params) -> None:
    with db.write() as connection:
        connection.execute(text(sql), params)


def insert(db, rows: list[dict]) -> None:
    names = COLUMNS.replace(" ", "").split(",")
    sql = f"INSERT INTO audit_record ({COLUMNS}) VALUES ({', '.join(':' + n for n in names)})"
    with db.write() as connection:
        connection.execute(text(sql), rows)


def rechain(rows: list[dict], previous_hash: str) -> list[dict]:
    """Rows given fresh, correct hashes from `previous_hash` on: a perfect forgery."""
    chained = []
    for row in rows:
        row = {**row, "previous_hash": previous_hash}
        row["hash"] = previous_hash = record_hash(previous_hash, row)
        chained.append(row)
    return chained


def move_head(db, row: dict) -> None:
    """What a forger who knows the design does too: point the head at the forged chain's end."""
    tamper(db, "UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1", seq=row["seq"], hash=row["hash"])


def verify(api, **digest) -> dict:
    response = api.get("/v1/audit/verify", **digest)
    assert response.status_code == 200, response.text
    return response.json()


def cli_verify(db, monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """`codi-ledger audit verify`, on the test database named by DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    # The command leaves its engine's connections open (api/cli.py never disposes it); close
    # them here, or PostgreSQL's driver warns when they are collected.
    opened = []
    monkeypatch.setattr(cli, "database", lambda: opened.append(OPEN_DATABASE()) or opened[-1])
    try:
        code = cli.main(["audit", "verify", *args])
    finally:
        for database in opened:
            database.dispose()
    assert [d.url for d in opened] == [db.url]
    return code, capsys.readouterr().out


def assert_broken_at(
    api,
    db,
    monkeypatch,
    capsys,
    seq: int,
    problem: str,
    checked: int | None = None,
    digest: dict | None = None,
) -> None:
    """Verification fails at `seq`, having found the `checked` records before it sound."""
    checked = seq - 1 if checked is None else checked
    result = verify(api, **(digest or {}))
    assert result["ok"] is False
    assert result["first_bad_seq"] == seq
    assert problem in result["problem"]
    assert result["records_checked"] == checked
    assert result["head"]["seq"] == checked
    assert result["head"]["hash"] == (records(db)[checked - 1]["hash"] if checked else GENESIS)
    args = ["--seq", str(digest["seq"]), "--hash", digest["hash"]] if digest else []
    code, out = cli_verify(db, monkeypatch, capsys, *args)
    assert code == 1
    assert f"BROKEN at record {seq}:" in out


@pytest.fixture
def history(api, fund) -> list[dict]:
    """Six audited writes through the app, one of them refused; returns the audit records."""
    cash, capital = fund["1100"], fund["3100"]
    assert api.entry(fund["book_id"], [(cash, "1000.00"), (capital, "-1000.00")]).status_code == 201
    overdraft = api.entry(fund["book_id"], [(fund["5400"], "2000.00"), (cash, "-2000.00")])
    assert overdraft.status_code == 409
    assert api.post("/v1/parties", {"kind": "network", "name_th": "เครือข่าย"}).status_code == 201
    loan = api.entry(fund["book_id"], [(fund["loan"], "300.00"), (cash, "-300.00")])
    assert loan.status_code == 201
    reversal = api.post(f"/v1/entries/{loan.json()['id']}/reversal", {}, key="rev-1")
    assert reversal.status_code == 201
    interest = api.entry(fund["book_id"], [(cash, "0.50"), (fund["4100"], "-0.50")], key="int-1")
    assert interest.status_code == 201
    listed = api.get("/v1/audit").json()["data"]
    assert [(r["seq"], r["action"], r["outcome"]) for r in listed] == [
        (1, "entry.post", "ok"),
        (2, "entry.post", "refused: insufficient_balance"),
        (3, "party.create", "ok"),
        (4, "entry.post", "ok"),
        (5, "entry.reverse", "ok"),
        (6, "entry.post", "ok"),
    ]
    assert listed[5]["idempotency_key"] == "int-1"
    assert listed[4]["entry_ids"] == [reversal.json()["id"]]
    return listed


def test_intact_chain_verifies_and_follows_the_design(api, db, history, monkeypatch, capsys):
    rows = records(db)
    previous = GENESIS
    for row in rows:
        assert row["previous_hash"] == previous
        assert row["hash"] == record_hash(previous, row)
        previous = row["hash"]
    digest = api.get("/v1/audit/digest").json()
    assert digest == {"seq": 6, "hash": previous}
    result = verify(api)
    assert (result["ok"], result["records_checked"], result["head"]) == (True, 6, digest)
    assert result["first_bad_seq"] is None and result["problem"] is None
    assert verify(api, **digest)["ok"] is True
    code, out = cli_verify(db, monkeypatch, capsys)
    assert code == 0 and f"6 records, head 6 {previous}" in out
    assert cli_verify(db, monkeypatch, capsys, "--seq", "6", "--hash", previous)[0] == 0


def test_records_refuse_change_until_the_trigger_is_gone(db, history):
    for sql in ("UPDATE audit_record SET outcome = 'ok' WHERE seq = 2",
                "DELETE FROM audit_record WHERE seq = 2"):  # fmt: skip
        with pytest.raises(IntegrityError, match="append_only"):
            tamper(db, sql)
    assert records(db)[1]["outcome"] == "refused: insufficient_balance"
    unlock(db)
    tamper(db, "UPDATE audit_record SET outcome = 'ok' WHERE seq = 2")
    assert records(db)[1]["outcome"] == "ok"


@pytest.mark.parametrize(
    ("seq", "change"),
    [
        (2, "outcome = 'ok'"),
        (1, "actor = 'someone-else'"),
        (4, "entry_ids = '[]'"),
        (5, "recorded_at = '2024-06-13T03:00:00+00:00'"),
        (3, "idempotency_key = 'forged-key'"),
        (6, "target = 'entry:1'"),
        (6, "seq = 7"),
    ],
)
def test_edited_record_is_found(api, db, history, monkeypatch, capsys, seq, change):
    unlock(db)
    tamper(db, f"UPDATE audit_record SET {change} WHERE seq = :seq", seq=seq)
    if change == "seq = 7":  # the last record renumbered: a gap where 6 was
        assert_broken_at(api, db, monkeypatch, capsys, 7, "removed or inserted", checked=5)
    else:
        assert_broken_at(api, db, monkeypatch, capsys, seq, "changed")


def test_edited_record_with_its_hash_recomputed_is_found(api, db, history, monkeypatch, capsys):
    """The forger fixes up the edited record's own hash; the next record no longer follows."""
    unlock(db)
    row = records(db)[1]
    forged = {**row, "outcome": "ok"}
    tamper(db, "UPDATE audit_record SET outcome = 'ok', hash = :h WHERE seq = 2",
           h=record_hash(row["previous_hash"], forged))  # fmt: skip
    assert_broken_at(api, db, monkeypatch, capsys, 3, "does not follow")


def test_changed_link_is_found(api, db, history, monkeypatch, capsys):
    unlock(db)
    tamper(db, "UPDATE audit_record SET previous_hash = :h WHERE seq = 4", h=GENESIS)
    assert_broken_at(api, db, monkeypatch, capsys, 4, "does not follow")


@pytest.mark.parametrize("seq", [1, 3, 5])
def test_deleted_record_is_found(api, db, history, monkeypatch, capsys, seq):
    """The verifier names the first record left that does not fit: the one after the gap."""
    unlock(db)
    tamper(db, "DELETE FROM audit_record WHERE seq = :seq", seq=seq)
    assert_broken_at(api, db, monkeypatch, capsys, seq + 1, "removed", checked=seq - 1)


def test_deleted_record_is_found_even_renumbered_and_rechained(api, db, history, monkeypatch, capsys):
    """Records 4.. deleted and written back as 3.. with correct hashes: the chain alone is
    consistent again, and only a digest kept before shows that it lost a record."""
    digest = api.get("/v1/audit/digest").json()
    unlock(db)
    rows = records(db)
    tamper(db, "DELETE FROM audit_record WHERE seq >= 3")
    shifted = [{**row, "seq": row["seq"] - 1} for row in rows[3:]]
    forged = rechain(shifted, rows[1]["hash"])
    insert(db, forged)
    assert_broken_at(api, db, monkeypatch, capsys, 6, "the chain ends before the head", checked=5)
    move_head(db, forged[-1])
    assert verify(api)["ok"] is True  # a perfect forgery, head and all, as far as the database goes
    assert_broken_at(api, db, monkeypatch, capsys, 6, "removed", digest=digest)


def test_forged_record_appended_is_found(api, db, history, monkeypatch, capsys):
    """A record added at the end, its hash copied from a real one."""
    unlock(db)
    last = records(db)[-1]
    forged = {**last, "seq": 7, "outcome": "ok", "action": "entry.post", "target": "entry:99",
              "previous_hash": last["hash"], "hash": last["hash"]}  # fmt: skip
    insert(db, [forged])
    assert_broken_at(api, db, monkeypatch, capsys, 7, "changed")


def test_forged_record_inserted_in_the_middle_is_found(api, db, history, monkeypatch, capsys):
    """A record slipped in as seq 4, correctly chained to 3, the real 4.. moved up by one."""
    unlock(db)
    rows = records(db)
    forged = {
        **rows[2],
        "seq": 4,
        "action": "entry.post",
        "target": "entry:99",
        "entry_ids": "[99]",
    }
    [forged] = rechain([forged], rows[2]["hash"])
    tamper(db, "DELETE FROM audit_record WHERE seq >= 4")
    insert(db, [forged] + [{**row, "seq": row["seq"] + 1} for row in rows[3:]])
    assert [r["seq"] for r in records(db)] == [1, 2, 3, 4, 5, 6, 7]
    assert_broken_at(api, db, monkeypatch, capsys, 5, "does not follow")


def test_digest_kept_earlier_finds_a_rewritten_tail(api, db, history, monkeypatch, capsys, fund):
    digest = api.get("/v1/audit/digest").json()
    assert digest["seq"] == 6
    for n in range(2):  # the chain grows after the digest was taken: still fine
        lines = [(fund["1100"], f"{n + 1}.00"), (fund["3100"], f"-{n + 1}.00")]
        assert api.entry(fund["book_id"], lines).status_code == 201
    assert verify(api, **digest)["ok"] is True
    later = api.get("/v1/audit/digest").json()
    assert later["seq"] == 8
    code, _ = cli_verify(db, monkeypatch, capsys, "--seq", "6", "--hash", digest["hash"])
    assert code == 0

    # Records 5.. rewritten (the reversal now claims to be someone else's) and rechained.
    unlock(db)
    rows = records(db)
    rewritten = rechain([{**rows[4], "actor": "officer-x"}] + rows[5:], rows[3]["hash"])
    tamper(db, "DELETE FROM audit_record WHERE seq >= 5")
    insert(db, rewritten)
    assert records(db)[4]["actor"] == "officer-x"
    assert_broken_at(api, db, monkeypatch, capsys, 8, "differs from the head", checked=8)
    move_head(db, rewritten[-1])
    assert verify(api)["ok"] is True  # consistent on its own: only a digest can tell
    assert_broken_at(api, db, monkeypatch, capsys, 6, "differs from the digest", digest=digest)
    assert_broken_at(api, db, monkeypatch, capsys, 8, "differs from the digest", digest=later)
    # A digest from before the rewrite started still holds.
    early = {"seq": 4, "hash": rows[3]["hash"]}
    assert verify(api, **early)["ok"] is True


def test_removed_tail_is_found_by_the_head_the_database_keeps(api, db, history, monkeypatch, capsys):
    unlock(db)
    tamper(db, "DELETE FROM audit_record WHERE seq >= 5")
    assert_broken_at(api, db, monkeypatch, capsys, 5, "the chain ends before the head", checked=4)


def test_record_appended_behind_the_head_is_found(api, db, history, monkeypatch, capsys):
    """A seventh record correctly chained to the sixth, but the head never moved to it."""
    unlock(db)
    last = records(db)[-1]
    [forged] = rechain([{**last, "seq": 7, "target": "entry:99"}], last["hash"])
    insert(db, [forged])
    assert_broken_at(api, db, monkeypatch, capsys, 7, "added after the head", checked=7)


def test_digest_kept_earlier_finds_a_removed_tail(api, db, history, monkeypatch, capsys):
    digest = api.get("/v1/audit/digest").json()
    unlock(db)
    tamper(db, "DELETE FROM audit_record WHERE seq >= 5")
    assert_broken_at(api, db, monkeypatch, capsys, 5, "removed", digest=digest)


def test_digest_that_was_never_issued_is_refused(api, db, history):
    wrong = {"seq": 3, "hash": "f" * 64}
    result = verify(api, **wrong)
    assert (result["ok"], result["first_bad_seq"]) == (False, 3)
    beyond = verify(api, seq=99, hash=records(db)[-1]["hash"])
    assert (beyond["ok"], beyond["first_bad_seq"]) == (False, 7)
