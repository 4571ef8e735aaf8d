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
from migrations.guards import append_only
from store import audit_log
from store.engine import Database
from tests.conftest import NOW, ON_POSTGRES
from tests.test_api_equity import market  # noqa: F401  (a fixture)
from tests.test_migrations import empty_url  # noqa: F401  (a fixture)

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


# --- the chain commits to the ledger's content (DESIGN.md section 8) ----------------------------
# Tampering with entries, postings and stored figures, the guards taken away first, as someone
# with the database's owner rights (or its file) can.


def unguard(db, *tables: str) -> None:
    """Take away the append-only triggers of `tables` (PostgreSQL: every trigger of theirs, so
    postings no longer move balances either: the forger adjusts them by hand)."""
    with db.write() as connection:
        for table in tables:
            if ON_POSTGRES:
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                connection.execute(text(f"DROP TRIGGER {table}_no_update"))
                connection.execute(text(f"DROP TRIGGER {table}_no_delete"))


def deep(api, **digest) -> dict:
    return verify(api, deep="true", **digest)


def cli_deep(db, monkeypatch, capsys) -> tuple[int, str]:
    return cli_verify(db, monkeypatch, capsys, "--deep")


def entry_of(history: list[dict], seq: int) -> int:
    [entry_id] = history[seq - 1]["entry_ids"]
    return entry_id


def test_each_record_holds_its_entries_content_hashes_as_the_design_says(api, db, history):
    """Computed here on our own from the rows: SHA-256 of the entry's canonical JSON."""
    listed = api.get("/v1/audit").json()["data"]
    assert listed[1]["content"] == {"entries": []}  # a refusal wrote nothing
    for record in listed:
        assert len(record["content"]["entries"]) == len(record["entry_ids"])
    entry_id = entry_of(history, 5)  # the reversal
    with db.read() as connection:
        entry = connection.execute(text("SELECT * FROM entry WHERE id = :id"), {"id": entry_id}).mappings().one()
        postings = connection.execute(
            text("SELECT account_id, amount_satang FROM posting WHERE entry_id = :id"), {"id": entry_id}
        ).all()
    recorded_at = api.get(f"/v1/entries/{entry_id}").json()["recorded_at"].replace("Z", "+00:00")
    form = {
        "id": entry_id, "book": entry["book_id"], "effective_date": str(entry["effective_date"]),
        "recorded_at": recorded_at, "recorded_by": entry["recorded_by"], "kind": "reversal",
        "description": entry["description"], "dimensions": json.loads(entry["dimensions"]),
        "reverses": entry["reverses_entry_id"], "postings": sorted([a, n] for a, n in postings),
    }  # fmt: skip
    assert form["reverses"] == entry_of(history, 4)
    canonical = json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert listed[4]["content"]["entries"] == [hashlib.sha256(canonical.encode()).hexdigest()]


def test_postings_multiplied_with_balances_adjusted_are_found(api, db, history, monkeypatch, capsys, fund):
    """Both postings of the first entry made a hundred times larger, balances and month
    movements moved to match: the figures agree with each other, the chain's record does not."""
    entry_id = entry_of(history, 1)
    unguard(db, "posting")
    for account, amount in ((fund["1100"], 100_000), (fund["3100"], -100_000)):
        tamper(db, "UPDATE posting SET amount_satang = amount_satang * 100 WHERE entry_id = :e AND account_id = :a",
               e=entry_id, a=account)  # fmt: skip
        tamper(db, "UPDATE account_balance SET balance_satang = balance_satang + :d WHERE account_id = :a",
               d=99 * amount, a=account)  # fmt: skip
        tamper(db, "UPDATE account_month SET movement_satang = movement_satang + :d WHERE account_id = :a",
               d=99 * amount, a=account)  # fmt: skip
    result = verify(api)
    assert result["ok"] is False
    assert (result["first_bad_seq"], result["first_bad_entry"]) == (1, entry_id)
    assert f"entry {entry_id}" in result["problem"] and "changed" in result["problem"]
    code, out = cli_verify(db, monkeypatch, capsys)
    assert code == 1 and f"BROKEN at record 1, entry {entry_id}: " in out
    found = deep(api)
    assert found["ok"] is False and found["problem"] == result["problem"]
    assert not any("account" in p for p in found["problems"])  # the stored figures were made to agree


@pytest.mark.parametrize("change", ["description = 'forged'", "effective_date = '2024-06-02'", "kind = 'loan'"])
def test_an_entry_edited_in_place_is_found(api, db, history, change):
    entry_id = entry_of(history, 6)
    unguard(db, "entry")
    tamper(db, f"UPDATE entry SET {change} WHERE id = :e", e=entry_id)
    result = verify(api)
    assert (result["ok"], result["first_bad_seq"], result["first_bad_entry"]) == (False, 6, entry_id)


def test_a_stored_balance_changed_alone_is_found_by_the_deep_verification(api, db, history, monkeypatch, capsys, fund):
    tamper(db, "UPDATE account_balance SET balance_satang = balance_satang + 100 WHERE account_id = :a",
           a=fund["3100"])  # fmt: skip
    assert verify(api)["ok"] is True  # the chain and the entries are intact
    result = deep(api)
    assert (result["ok"], result["first_bad_account"], result["first_bad_seq"]) == (False, fund["3100"], None)
    assert result["problem"].startswith(f"account {fund['3100']}: stored balance -99900 ")
    code, out = cli_deep(db, monkeypatch, capsys)
    assert code == 1 and f"account {fund['3100']}: stored balance" in out


def test_a_month_movement_changed_alone_is_found_by_the_deep_verification(api, db, history, fund):
    tamper(db, "UPDATE account_month SET movement_satang = 0 WHERE account_id = :a", a=fund["4100"])
    result = deep(api)
    assert (result["ok"], result["first_bad_account"]) == (False, fund["4100"])
    assert result["problems"] == [f"account {fund['4100']}, month of 2024-06-01: stored movement 0, "
                                  "its postings sum to -50"]  # fmt: skip


def test_a_dropped_or_disabled_guard_is_named_by_the_deep_verification(api, db, history, monkeypatch, capsys):
    assert deep(api)["ok"] is True
    if not ON_POSTGRES:
        tamper(db, "DROP TRIGGER posting_no_update")
        tamper(db, "DROP TRIGGER entry_period_open")
        expected = ["trigger entry_period_open on entry is missing", "trigger posting_no_update on posting is missing"]
        assert_guards_named(api, db, monkeypatch, capsys, expected)
        return
    tamper(db, "DROP TRIGGER posting_append_only ON posting")
    tamper(db, "ALTER TABLE entry DISABLE TRIGGER entry_period_open")  # turned on again when the database is emptied
    tamper(db, "ALTER TABLE posting DROP CONSTRAINT ck_posting_nonzero")
    try:
        expected = ["trigger entry_period_open on entry is disabled", "trigger posting_append_only on posting is "
                    "missing", "constraint ck_posting_nonzero on posting is missing"]  # fmt: skip
        assert_guards_named(api, db, monkeypatch, capsys, expected)
    finally:  # the next tests share this database
        [restore] = append_only("postgresql", ["posting"])
        tamper(db, restore)
        tamper(db, "ALTER TABLE posting ADD CONSTRAINT ck_posting_nonzero CHECK (amount_satang <> 0)")


def assert_guards_named(api, db, monkeypatch, capsys, expected: list[str]) -> None:
    assert verify(api)["ok"] is True
    result = deep(api)
    assert (result["ok"], result["problems"], result["problem"]) == (False, expected, expected[0])
    code, out = cli_deep(db, monkeypatch, capsys)
    assert code == 1 and f"BROKEN at the ledger: {expected[0]}" in out and f"also: {expected[1]}" in out


def test_a_freshly_migrated_database_has_exactly_the_guards_expected(db):
    from store import integrity

    with db.read() as connection:
        dialect = connection.dialect.name
        query = {"postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
                 "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger'"}[dialect]  # fmt: skip
        assert set(connection.execute(text(query)).scalars()) == set(integrity.expected_triggers(dialect))
        assert integrity.guard_problems(connection) == []
    assert {"ck_posting_nonzero", "fk_posting_entry", "ck_balance_rule", "ck_party_national_id"} <= set(
        integrity.expected_constraints()
    )


def test_an_entry_deleted_is_found(api, db, history, monkeypatch, capsys):
    entry_id = entry_of(history, 6)
    unguard(db, "posting", "entry")
    tamper(db, "DELETE FROM posting WHERE entry_id = :e", e=entry_id)
    tamper(db, "DELETE FROM entry WHERE id = :e", e=entry_id)
    result = verify(api)
    assert (result["ok"], result["first_bad_seq"], result["first_bad_entry"]) == (False, 6, entry_id)
    assert result["problem"] == f"entry {entry_id} is gone: its rows were removed"
    code, out = cli_verify(db, monkeypatch, capsys)
    assert code == 1 and f"BROKEN at record 6, entry {entry_id}: entry {entry_id} is gone" in out


def test_an_entry_inserted_behind_the_chain_is_found(api, db, history, monkeypatch, capsys, fund):
    """No trigger is in the way of an insert of a balanced entry; only the chain knows it never
    recorded one."""
    with db.write() as connection:
        user = connection.execute(text("SELECT min(id) FROM app_user")).scalar_one()
        forged = connection.execute(text("SELECT max(id) + 1 FROM entry")).scalar_one()
        for account, amount in ((fund["5400"], 7_000), (fund["1100"], -7_000)):
            connection.execute(text("INSERT INTO posting (entry_id, book_id, account_id, effective_date, "
                                    "amount_satang) VALUES (:e, :b, :a, '2024-06-01', :n)"),
                               {"e": forged, "b": fund["book_id"], "a": account, "n": amount})  # fmt: skip
        connection.execute(text("INSERT INTO entry (id, book_id, effective_date, recorded_at, kind, description, "
                                "dimensions, recorded_by) VALUES (:e, :b, '2024-06-01', :at, 'manual', 'x', '{}', :u)"),
                           {"e": forged, "b": fund["book_id"], "at": NOW, "u": user})  # fmt: skip
    result = verify(api)
    assert (result["ok"], result["first_bad_seq"], result["first_bad_entry"]) == (False, None, forged)
    assert "vouched for by no audit record" in result["problem"]
    code, out = cli_verify(db, monkeypatch, capsys)
    assert code == 1 and f"BROKEN at entry {forged}: " in out


def cli_digest(db, monkeypatch, capsys) -> dict:
    """`codi-ledger audit digest`, read as a person would copy it down: sequence and grouped hash."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert cli.main(["audit", "digest"]) == 0
    lines = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()[1:3])
    return {"seq": lines["sequence"].strip(), "hash": lines["head"].removeprefix("hash").strip()}


def test_a_rewound_head_is_found_by_a_digest_written_down_before(api, db, history, monkeypatch, capsys):
    """Records cut from the end and the head moved back: the chain left is sound, every entry
    still vouched for (the records cut wrote none), and only the digest kept shows the loss."""
    assert api.post("/v1/parties", {"kind": "network", "name_th": "เครือข่ายสอง"}).status_code == 201
    written = cli_digest(db, monkeypatch, capsys)
    assert written["seq"] == "7" and len(written["hash"]) == 71  # eight groups of eight
    unlock(db)
    tamper(db, "DELETE FROM audit_record WHERE seq = 7")
    move_head(db, records(db)[5])
    assert verify(api)["ok"] is True
    assert deep(api)["ok"] is False  # the trigger taken away to cut the records
    code, out = cli_verify(db, monkeypatch, capsys, "--seq", written["seq"], "--hash", written["hash"])
    assert code == 1 and "BROKEN at record 7: removed: the digest is beyond it" in out
    result = verify(api, seq=7, hash=written["hash"].replace(" ", ""))
    assert (result["ok"], result["first_bad_seq"]) == (False, 7)


def test_a_digest_printed_is_one_verify_takes(api, db, history, monkeypatch, capsys):
    written = cli_digest(db, monkeypatch, capsys)
    assert written == {"seq": "6", "hash": " ".join(history[5]["hash"][i : i + 8] for i in range(0, 64, 8))}
    code, out = cli_verify(db, monkeypatch, capsys, "--seq", "6", "--hash", written["hash"].upper())
    assert code == 0 and f"head 6 {history[5]['hash']}" in out


def test_an_untouched_ledger_of_every_kind_of_operation_verifies_deep(
    api, db, history, market, monkeypatch, capsys, tmp_path  # noqa: F811  (market: a fixture)
):
    """Posting, reversal (the history), share issue (the market), an investment, an import, a
    loan disbursed and repaid, a sale with its contribution, close of business from the API and
    from the command line: every entry vouched for by the record of the write that made it."""
    from store.bulk import import_file
    from tests.test_api_equity import invest, ok

    officer = market["officer"]
    ok(invest(market, shares=10, price="1000.00"), 201)
    lines = tmp_path / "entries.jsonl"
    lines.write_text(json.dumps({"key": "i1", "book": "FUND", "effective_date": "2024-03-01", "description": "i",
                                 "postings": [{"account": "1100", "amount": "5.00"},
                                              {"account": "4100", "amount": "-5.00"}]}) + "\n")  # fmt: skip
    assert import_file(db, str(lines), batch_size=10, progress=False, now=lambda: NOW).recorded == 1
    product = ok(api.post("/v1/loan-products", {"book_id": market["book_id"], "code": "P12", "name_th": "สินเชื่อ",
                                                "rate_annual_percent": "12", "term_instalments": 3}), 201)  # fmt: skip
    loan = ok(officer.post("/v1/loans", {"product_id": product["id"], "borrower_party_id": market["borrower_id"],
                                         "amount": "10000.00", "savings": "1000.00"}), 201)  # fmt: skip
    ok(api.post(f"/v1/loans/{loan['id']}/approval", {}))
    ok(officer.post(f"/v1/loans/{loan['id']}/disbursements", {"amount": "10000.00", "effective_date": "2024-01-31"},
                    "d1"), 201)  # fmt: skip
    ok(officer.post(f"/v1/loans/{loan['id']}/repayments", {"amount": "3400.22", "effective_date": "2024-02-29"},
                    "r1"), 201)  # fmt: skip
    welfare = ok(api.post("/v1/parties", {"kind": "welfare_fund", "name_th": "กองทุนสวัสดิการ"}), 201)["id"]
    ok(api.post("/v1/books", {"code": "WF", "kind": "welfare_fund", "name_th": "กองทุน", "party_id": welfare}), 201)
    ok(api.post("/v1/contribution-rules", {"enterprise_party_id": market["party"], "fund_party_id": welfare,
                                           "rate_percent": "5", "effective_from": "2024-01-01"}), 201)  # fmt: skip
    ok(officer.post("/v1/sales", {"enterprise_party_id": market["party"], "effective_date": "2024-06-08",
                                  "channel": "market", "amount": "1000.00"}, "s1"), 201)  # fmt: skip
    assert ok(api.post("/v1/close-of-business", {"date": "2024-03-10"}))["entry_ids"]
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert cli.main(["cob", "--date", "2024-03-20"]) == 0
    with db.read() as connection:
        kinds = set(connection.execute(text("SELECT kind FROM entry")).scalars())
    assert {"manual", "reversal", "loan.disbursement", "loan.repayment", "loan.accrual", "welfare.sale"} <= kinds
    actions = {r["action"] for r in api.get("/v1/audit", limit=500).json()["data"] if r["entry_ids"]}
    assert {"entry.import", "loan.close-of-business"} <= actions
    result = deep(api)
    assert (result["problems"], result["ok"], result["records_checked"]) == ([], True, result["head"]["seq"])
    code, out = cli_deep(db, monkeypatch, capsys)
    assert code == 0 and "guards in place" in out


def test_the_content_epoch_vouches_for_the_entries_recorded_before_it(empty_url):  # noqa: F811  (a fixture)
    """A database with an entry and its record as they were written before the chain committed to
    content: the upgrade keeps the old record as it was and appends the epoch; the old entry
    changed afterwards is found, at the epoch; a downgrade is refused."""
    from datetime import date

    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from ledger.accounts import EntryDraft, Posting
    from ledger.audit import chain_hash
    from store import books, journal, users
    from tests.test_migrations import migrate

    migrate(empty_url, "upgrade", "0012")
    engine = create_engine(empty_url, poolclass=NullPool)
    with engine.begin() as c:
        user = users.add_user(c, name="u", role="admin", party_id=None, now=NOW)[0]
        book = books.create_book(c, {"code": "B", "kind": "fund", "name_th": "b"}, now=NOW)["id"]
        ids = {a["code"]: a["id"] for a in books.book_accounts(c, book)}
        draft = EntryDraft(book, date(2024, 1, 2), "manual", "x", (Posting(ids["1100"], 5), Posting(ids["3100"], -5)))
        entry = journal.record_entry(c, draft, recorded_by=user, recorded_at=NOW)
        old = {"seq": 1, "recorded_at": NOW.isoformat(), "actor": "u", "role": "admin", "action": "entry.post",
               "target": f"entry:{entry}", "request_id": "r", "idempotency_key": None, "request_hash": "0" * 64,
               "outcome": "ok", "entry_ids": f"[{entry}]"}  # fmt: skip
        old["hash"] = chain_hash(GENESIS, old)
        c.execute(text(f"INSERT INTO audit_record ({', '.join(old)}, previous_hash) "
                       f"VALUES ({', '.join(':' + k for k in old)}, :g)"), {**old, "g": GENESIS})  # fmt: skip
        c.execute(text("UPDATE audit_head SET seq = 1, hash = :h"), {"h": old["hash"]})
    engine.dispose()
    migrate(empty_url, "upgrade", "head")
    database = Database(empty_url)
    try:
        with database.read() as c:
            [first, epoch] = audit_log.list_records(c, after=0, limit=10)
            assert (first["hash"], first["content"]) == (old["hash"], None)
            assert (epoch["action"], epoch["entry_ids"]) == ("audit.content-epoch", [])
            assert epoch["content"]["ledger"]["through_entry_id"] == entry
            assert epoch["content"]["ledger"]["entries"] == 1
            assert audit_log.verify(c).ok
        with database.write() as c:
            unguarded = "ALTER TABLE posting DISABLE TRIGGER USER" if ON_POSTGRES else "DROP TRIGGER posting_no_update"
            c.execute(text(unguarded))
            c.execute(text("UPDATE posting SET amount_satang = amount_satang * 100 WHERE entry_id = :e"), {"e": entry})
        with database.read() as c:
            result = audit_log.verify(c)
        assert (result.ok, result.first_bad_seq, result.first_bad_entry) == (False, 2, None)
        assert "before the content epoch" in result.problem
    finally:
        database.dispose()
    with pytest.raises(RuntimeError, match="hold content"):
        migrate(empty_url, "downgrade", "0012")
