"""The database alone refuses bad rows: raw SQL, past every layer of ours (invariants 1, 2, 6).

Each test writes rows with plain SQL the way the store does (postings first, with an explicit
entry id, then their entry) and checks that the database answers with its own error and that
nothing of the refused transaction remains. On PostgreSQL the balance of an entry is checked by
a deferred constraint trigger, so that refusal surfaces when the transaction commits; on SQLite
at the entry's INSERT. Every other guard acts at the statement that breaks it, on both.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Connection, Date, DateTime, bindparam, text
from sqlalchemy.exc import IntegrityError

from store import audit_log, books, idempotency
from tests.conftest import NOW, ON_POSTGRES, make_user

POSTING_SQL = text(
    "INSERT INTO posting (entry_id, book_id, account_id, effective_date, amount_satang) "
    "VALUES (:entry_id, :book_id, :account_id, :day, :amount)"
).bindparams(bindparam("day", type_=Date()))
ENTRY_SQL = text(
    "INSERT INTO entry (id, book_id, effective_date, recorded_at, kind, description, "
    "reverses_entry_id, dimensions, recorded_by) "
    "VALUES (:id, :book_id, :day, :recorded_at, 'manual', 'raw', NULL, '{}', :user_id)"
).bindparams(bindparam("day", type_=Date()), bindparam("recorded_at", type_=DateTime(timezone=True)))

FK_FAILED = "fk_posting_account" if ON_POSTGRES else "FOREIGN KEY constraint failed"
# An entry's balance check runs at COMMIT on PostgreSQL, at the entry's INSERT on SQLite.
DEFERRED = ON_POSTGRES

Step = Callable[[Connection], object]


@pytest.fixture
def ledger(db, fund) -> dict:
    """The fund's accounts, a second book's, and a user to record entries."""
    make_user(db, "clerk", "officer")
    with db.write() as connection:
        other = books.create_book(connection, {"code": "WF", "kind": "welfare_fund", "name_th": "สวัสดิการ"}, now=NOW)
        other_codes = {a["code"]: a["id"] for a in books.book_accounts(connection, other["id"])}
        user_id = connection.execute(text("SELECT id FROM app_user WHERE name = 'clerk'")).scalar_one()
    return {
        **fund,
        "user_id": user_id,
        "other_book": other["id"],
        "other_cash": other_codes["1100"],
        "other_capital": other_codes["3100"],
    }


def next_entry_id(db) -> int:
    with db.write() as connection:
        if ON_POSTGRES:
            return connection.execute(text("SELECT nextval('entry_id_seq')")).scalar_one()
        return connection.execute(text("SELECT coalesce(max(id), 0) + 1 FROM entry")).scalar_one()


def postings(entry_id: int, book_id: int, day: date, lines: list[tuple[int, int]]) -> Step:
    rows = [
        {"entry_id": entry_id, "book_id": book_id, "account_id": a, "day": day, "amount": amount} for a, amount in lines
    ]
    return lambda connection: connection.execute(POSTING_SQL, rows)


def entry(entry_id: int, book_id: int, day: date, user_id: int) -> Step:
    row = {"id": entry_id, "book_id": book_id, "day": day, "recorded_at": NOW, "user_id": user_id}
    return lambda connection: connection.execute(ENTRY_SQL, row)


def statement(sql: str, **params) -> Step:
    return lambda connection: connection.execute(text(sql), params)


def statement_many(sql: str, rows: list[dict]) -> Step:
    return lambda connection: connection.execute(text(sql), rows)


def record(db, ledger: dict, day: date, lines: list[tuple[int, int]], book: str = "book_id") -> int:
    """Record a correct entry with raw SQL; returns its id."""
    entry_id = next_entry_id(db)
    with db.write() as connection:
        postings(entry_id, ledger[book], day, lines)(connection)
        entry(entry_id, ledger[book], day, ledger["user_id"])(connection)
    return entry_id


def refused(db, *steps: Step) -> tuple[int, str]:
    """Run the steps in one transaction that the database must refuse; returns how many steps
    ran before the refusal surfaced, and the database's message."""
    done = 0
    with pytest.raises(IntegrityError) as caught:
        with db.write() as connection:
            for step in steps:
                step(connection)
                done += 1
    return done, str(caught.value.orig)


def state(db) -> dict:
    """Everything a refused write could have left behind."""
    with db.read() as connection:

        def rows(sql: str) -> list[tuple]:
            return sorted(tuple(str(v) for v in row) for row in connection.execute(text(sql)))

        return {
            "entries": rows("SELECT id, book_id, effective_date, description FROM entry"),
            "postings": rows("SELECT entry_id, account_id, effective_date, amount_satang FROM posting"),
            "balances": rows("SELECT account_id, balance_satang, posting_count FROM account_balance"),
            "months": rows("SELECT account_id, month_start, movement_satang FROM account_month"),
            "audit": rows("SELECT seq, outcome, hash FROM audit_record"),
            "books": rows("SELECT id, closed_through FROM book"),
        }


def balances(db) -> dict[int, int]:
    with db.read() as connection:
        return dict(connection.execute(text("SELECT account_id, balance_satang FROM account_balance")).all())


# -- what a correct raw insert does ------------------------------------------------------------


def test_correct_raw_entries_are_accepted_and_keep_balances_and_months(db, ledger):
    cash, capital, loan, interest = ledger["1100"], ledger["3100"], ledger["loan"], ledger["4100"]
    written = [
        (date(2024, 5, 10), [(cash, 100_000), (capital, -100_000)]),
        (date(2024, 5, 31), [(loan, 40_000), (cash, -40_000)]),
        (date(2024, 6, 3), [(cash, 2_525), (loan, -2_000), (interest, -525)]),
        (date(2024, 6, 30), [(cash, 1), (cash, 2), (capital, -3)]),
    ]
    ids = [record(db, ledger, day, lines) for day, lines in written]
    record(
        db,
        ledger,
        date(2024, 6, 1),
        [(ledger["other_cash"], 700), (ledger["other_capital"], -700)],
        "other_book",
    )

    with db.read() as connection:
        stored = connection.execute(
            text("SELECT id, book_id, effective_date FROM entry WHERE book_id = :b ORDER BY id").columns(
                effective_date=Date
            ),
            {"b": ledger["book_id"]},
        ).all()
        assert [tuple(r) for r in stored] == [(i, ledger["book_id"], d) for i, (d, _) in zip(ids, written, strict=True)]
        kept = {
            r.account_id: (r.balance_satang, r.posting_count)
            for r in connection.execute(text("SELECT account_id, balance_satang, posting_count FROM account_balance"))
        }
        summed = {
            r.account_id: (int(r.total), r.n)
            for r in connection.execute(
                text("SELECT account_id, sum(amount_satang) AS total, count(*) AS n FROM posting GROUP BY account_id")
            )
        }
        months = {
            (r.account_id, r.month_start): r.movement_satang
            for r in connection.execute(
                text("SELECT account_id, month_start, movement_satang FROM account_month").columns(month_start=Date)
            )
        }
        dated = connection.execute(
            text("SELECT account_id, effective_date, amount_satang FROM posting").columns(effective_date=Date)
        ).all()

    # Worked out by hand from the entries above.
    expected = {
        cash: (62_528, 5),
        capital: (-100_003, 2),
        loan: (38_000, 2),
        interest: (-525, 1),
        ledger["other_cash"]: (700, 1),
        ledger["other_capital"]: (-700, 1),
    }
    assert {a: v for a, v in kept.items() if v != (0, 0)} == expected
    assert summed == expected
    assert all(kept[a] == (0, 0) for a in kept if a not in summed)
    month_sums: dict[tuple[int, date], int] = defaultdict(int)
    for account_id, day, amount in dated:
        month_sums[(account_id, day.replace(day=1))] += amount
    assert months == dict(month_sums)
    assert months[(cash, date(2024, 5, 1))] == 60_000 and months[(cash, date(2024, 6, 1))] == 2_528
    with db.read() as connection:
        totals = connection.execute(
            text("SELECT book_id, sum(balance_satang) FROM account_balance GROUP BY book_id")
        ).all()
    assert {book_id: int(total) for book_id, total in totals} == {
        ledger["book_id"]: 0,
        ledger["other_book"]: 0,
    }


def test_new_account_gets_a_zero_balance_row(db, ledger):
    with db.write() as connection:
        connection.execute(
            text(
                "INSERT INTO account (book_id, code, name_th, type, balance_rule, created_at) "
                "VALUES (:b, '1105', 'เงินสดย่อย', 'asset', 'debit_or_zero', :now)"
            ).bindparams(bindparam("now", type_=DateTime(timezone=True))),
            {"b": ledger["book_id"], "now": NOW},
        )
        row = connection.execute(
            text(
                "SELECT b.book_id, b.balance_rule, b.balance_satang, b.posting_count "
                "FROM account_balance b JOIN account a ON a.id = b.account_id "
                "WHERE a.code = '1105'"
            )
        ).one()
    assert tuple(row) == (ledger["book_id"], "debit_or_zero", 0, 0)


# -- invariant 1: balanced entries of two or more non-zero postings -------------------------------


def test_unbalanced_entry_is_refused(db, ledger):
    before = state(db)
    entry_id = next_entry_id(db)
    day = date(2024, 6, 1)
    done, message = refused(
        db,
        postings(entry_id, ledger["book_id"], day, [(ledger["1100"], 10_000), (ledger["3100"], -9_999)]),
        entry(entry_id, ledger["book_id"], day, ledger["user_id"]),
    )
    assert "unbalanced_entry" in message
    assert done == (2 if DEFERRED else 1)
    assert state(db) == before


@pytest.mark.parametrize("lines", [[], [("1100", 5_000)], [("5400", -5_000)]], ids=["none", "one-debit", "one-credit"])
def test_entry_with_fewer_than_two_postings_is_refused(db, ledger, lines):
    before = state(db)
    entry_id = next_entry_id(db)
    day = date(2024, 6, 1)
    done, message = refused(
        db,
        postings(entry_id, ledger["book_id"], day, [(ledger[code], amount) for code, amount in lines])
        if lines
        else statement("SELECT 1"),
        entry(entry_id, ledger["book_id"], day, ledger["user_id"]),
    )
    assert "unbalanced_entry" in message
    assert done == (2 if DEFERRED else 1)
    assert state(db) == before


def test_postings_without_their_entry_are_refused_at_commit(db, ledger):
    before = state(db)
    entry_id = next_entry_id(db)
    done, message = refused(
        db,
        postings(
            entry_id,
            ledger["book_id"],
            date(2024, 6, 1),
            [(ledger["1100"], 100), (ledger["3100"], -100)],
        ),
    )
    assert done == 1  # both dialects defer this to COMMIT
    assert any(
        marker in message for marker in ("unbalanced_entry", "fk_posting_entry", "FOREIGN KEY constraint failed")
    )
    assert state(db) == before


def test_zero_posting_is_refused(db, ledger):
    before = state(db)
    entry_id = next_entry_id(db)
    day = date(2024, 6, 1)
    done, message = refused(
        db,
        postings(entry_id, ledger["book_id"], day, [(ledger["1100"], 100), (ledger["3100"], -100)]),
        postings(entry_id, ledger["book_id"], day, [(ledger["5400"], 0)]),
        entry(entry_id, ledger["book_id"], day, ledger["user_id"]),
    )
    assert "ck_posting_nonzero" in message
    assert done == 1
    assert state(db) == before


def test_posting_added_to_a_recorded_entry_is_refused(db, ledger):
    day = date(2024, 6, 1)
    entry_id = record(db, ledger, day, [(ledger["1100"], 100), (ledger["3100"], -100)])
    before = state(db)
    # Later, in a transaction of its own, even as a balanced pair.
    done, message = refused(
        db,
        postings(entry_id, ledger["book_id"], day, [(ledger["1100"], 50), (ledger["3100"], -50)]),
    )
    assert "entry_sealed" in message and done == 0
    # In the very transaction that recorded it.
    other_id = next_entry_id(db)
    done, message = refused(
        db,
        postings(other_id, ledger["book_id"], day, [(ledger["1100"], 7), (ledger["3100"], -7)]),
        entry(other_id, ledger["book_id"], day, ledger["user_id"]),
        postings(other_id, ledger["book_id"], day, [(ledger["5400"], 7)]),
    )
    assert "entry_sealed" in message and done == 2
    assert state(db) == before


def test_entry_id_cannot_be_recorded_twice(db, ledger):
    day = date(2024, 6, 1)
    entry_id = record(db, ledger, day, [(ledger["1100"], 100), (ledger["3100"], -100)])
    before = state(db)
    with pytest.raises(IntegrityError):
        with db.write() as connection:
            entry(entry_id, ledger["book_id"], day, ledger["user_id"])(connection)
    assert state(db) == before


@pytest.mark.parametrize("stray", ["book", "date"])
def test_entry_with_postings_of_another_book_or_date_is_refused(db, ledger, stray):
    before = state(db)
    entry_id = next_entry_id(db)
    day = date(2024, 6, 1)
    if stray == "book":  # balanced postings in the other book, under an entry of the fund's book
        lines = postings(
            entry_id,
            ledger["other_book"],
            day,
            [(ledger["other_cash"], 300), (ledger["other_capital"], -300)],
        )
    else:
        lines = postings(
            entry_id,
            ledger["book_id"],
            date(2024, 6, 2),
            [(ledger["1100"], 300), (ledger["3100"], -300)],
        )
    done, message = refused(db, lines, entry(entry_id, ledger["book_id"], day, ledger["user_id"]))
    assert "unbalanced_entry" in message
    assert done == (2 if DEFERRED else 1)
    assert state(db) == before


def test_posting_to_an_account_of_another_book_is_refused(db, ledger):
    before = state(db)
    entry_id = next_entry_id(db)
    day = date(2024, 6, 1)
    done, message = refused(
        db,
        postings(entry_id, ledger["book_id"], day, [(ledger["1100"], 300)]),
        postings(entry_id, ledger["book_id"], day, [(ledger["other_capital"], -300)]),
        entry(entry_id, ledger["book_id"], day, ledger["user_id"]),
    )
    assert FK_FAILED in message
    assert done == 1
    assert state(db) == before


# -- invariant 2: entries, postings and audit records are never changed or removed ----------------


@pytest.fixture
def recorded(db, ledger) -> dict:
    """An entry, its postings and two audit records, all correctly written."""
    entry_id = record(db, ledger, date(2024, 6, 1), [(ledger["1100"], 100), (ledger["3100"], -100)])
    with db.write() as connection:
        for n in range(2):
            audit_log.append(
                connection,
                {
                    "recorded_at": NOW.isoformat(),
                    "actor": "clerk",
                    "role": "officer",
                    "action": "entry.post",
                    "target": f"entry:{entry_id}",
                    "request_id": f"r{n}",
                    "idempotency_key": None,
                    "request_hash": "0" * 64,
                    "outcome": "ok",
                    "entry_ids": [entry_id],
                },
            )
    return {**ledger, "entry_id": entry_id}


CHANGES = {
    ("entry", "UPDATE"): "UPDATE entry SET description = 'rewritten' WHERE id = :entry_id",
    (
        "entry",
        "UPDATE date",
    ): "UPDATE entry SET effective_date = effective_date WHERE id = :entry_id",
    ("entry", "DELETE"): "DELETE FROM entry WHERE id = :entry_id",
    (
        "posting",
        "UPDATE",
    ): "UPDATE posting SET amount_satang = amount_satang * 2 WHERE entry_id = :entry_id",
    ("posting", "DELETE"): "DELETE FROM posting WHERE entry_id = :entry_id",
    ("posting", "DELETE one"): "DELETE FROM posting WHERE id = (SELECT min(id) FROM posting)",
    ("audit_record", "UPDATE"): "UPDATE audit_record SET outcome = 'refused: forged' WHERE seq = 1",
    ("audit_record", "UPDATE hash"): "UPDATE audit_record SET hash = previous_hash WHERE seq = 2",
    ("audit_record", "DELETE"): "DELETE FROM audit_record WHERE seq = 2",
}


@pytest.mark.parametrize("change", list(CHANGES), ids=[" ".join(c) for c in CHANGES])
def test_append_only_rows_cannot_be_updated_or_deleted(db, recorded, change):
    before = state(db)
    assert len(before["entries"]) == 1 and len(before["postings"]) == 2 and len(before["audit"]) == 2
    sql = CHANGES[change]
    params = {"entry_id": recorded["entry_id"]} if ":entry_id" in sql else {}
    done, message = refused(db, statement(sql, **params))
    assert "append_only" in message and done == 0
    assert state(db) == before


@pytest.mark.parametrize("table", ["entry", "posting", "audit_record"])
def test_append_only_tables_cannot_be_emptied(db, recorded, table):
    """TRUNCATE on PostgreSQL; SQLite has none, its equivalent is DELETE without WHERE."""
    before = state(db)
    sql = f"TRUNCATE {table} CASCADE" if ON_POSTGRES else f"DELETE FROM {table}"
    done, message = refused(db, statement(sql))
    assert "append_only" in message and done == 0
    assert state(db) == before


# -- invariant 6: closed periods and balance rules ---------------------------------------------


@pytest.mark.parametrize("day", [date(2024, 5, 31), date(2024, 5, 1), date(2023, 10, 1)])
def test_entry_dated_in_a_closed_period_is_refused(db, ledger, day):
    with db.write() as connection:
        connection.execute(
            text("UPDATE book SET closed_through = :d WHERE id = :b").bindparams(bindparam("d", type_=Date())),
            {"d": date(2024, 5, 31), "b": ledger["book_id"]},
        )
    before = state(db)
    entry_id = next_entry_id(db)
    done, message = refused(
        db,
        postings(entry_id, ledger["book_id"], day, [(ledger["1100"], 100), (ledger["3100"], -100)]),
        entry(entry_id, ledger["book_id"], day, ledger["user_id"]),
    )
    assert "period_closed" in message and done == 1
    assert state(db) == before
    # The day after the close is open, and another book is not closed at all.
    record(db, ledger, date(2024, 6, 1), [(ledger["1100"], 100), (ledger["3100"], -100)])
    record(
        db,
        ledger,
        day,
        [(ledger["other_cash"], 100), (ledger["other_capital"], -100)],
        "other_book",
    )
    assert balances(db)[ledger["1100"]] == 100 and balances(db)[ledger["other_cash"]] == 100


@pytest.mark.parametrize("day", ["2024-05-31 12:00:00", "2024-05-31T23:59:59", "2024-05-31 00:00"])
def test_entry_dated_in_a_closed_period_with_a_time_of_day_is_refused(db, ledger, day):
    """A date written as text with a time after it is still that date. (SQLite keeps the text
    as given, and compared as text it sorts after the day the book is closed through.)"""
    with db.write() as connection:
        connection.execute(
            text("UPDATE book SET closed_through = '2024-05-31' WHERE id = :b"), {"b": ledger["book_id"]}
        )
    before = state(db)
    entry_id = next_entry_id(db)
    rows = [
        {"e": entry_id, "b": ledger["book_id"], "a": a, "d": day, "m": m}
        for a, m in ((ledger["1100"], 5), (ledger["3100"], -5))
    ]
    done, message = refused(
        db,
        statement_many(
            "INSERT INTO posting (entry_id, book_id, account_id, effective_date, amount_satang) "
            "VALUES (:e, :b, :a, :d, :m)",
            rows,
        ),
        statement(
            "INSERT INTO entry (id, book_id, effective_date, recorded_at, kind, description, dimensions, recorded_by) "
            "VALUES (:e, :b, :d, :t, 'manual', 'raw', '{}', :u)",
            e=entry_id, b=ledger["book_id"], d=day, t="2024-06-14 03:00:00", u=ledger["user_id"],
        ),
    )  # fmt: skip
    assert "period_closed" in message and done == 1
    assert state(db) == before


@pytest.mark.parametrize(
    ("code", "balance"),
    [("1100", -1), ("loan", -100), ("3100", 1), ("1290", 5)],
    ids=["cash-in-credit", "loan-in-credit", "capital-in-debit", "allowance-in-debit"],
)
def test_balance_row_breaking_its_rule_is_refused(db, ledger, code, balance):
    before = state(db)
    done, message = refused(
        db,
        statement(
            "UPDATE account_balance SET balance_satang = :v WHERE account_id = :a",
            v=balance,
            a=ledger[code],
        ),
    )
    assert "ck_balance_rule" in message and done == 0
    assert state(db) == before


def test_posting_that_overdraws_an_account_is_refused(db, ledger):
    record(db, ledger, date(2024, 6, 1), [(ledger["1100"], 1_000), (ledger["3100"], -1_000)])
    before = state(db)
    entry_id = next_entry_id(db)
    day = date(2024, 6, 2)
    done, message = refused(
        db,
        postings(entry_id, ledger["book_id"], day, [(ledger["5400"], 1_001)]),
        postings(entry_id, ledger["book_id"], day, [(ledger["1100"], -1_001)]),
        entry(entry_id, ledger["book_id"], day, ledger["user_id"]),
    )
    assert "ck_balance_rule" in message and done == 1
    assert state(db) == before
    # Down to exactly zero is allowed.
    record(db, ledger, day, [(ledger["5400"], 1_000), (ledger["1100"], -1_000)])
    assert balances(db)[ledger["1100"]] == 0


def test_a_refused_write_leaves_earlier_work_intact(db, ledger):
    """A refusal rolls back its own transaction only: what was committed before stays."""
    first = record(db, ledger, date(2024, 6, 1), [(ledger["1100"], 500), (ledger["3100"], -500)])
    entry_id = next_entry_id(db)
    refused(
        db,
        postings(
            entry_id,
            ledger["book_id"],
            date(2024, 6, 2),
            [(ledger["1100"], 1), (ledger["3100"], -2)],
        ),
        entry(entry_id, ledger["book_id"], date(2024, 6, 2), ledger["user_id"]),
    )
    after = state(db)
    assert [e[0] for e in after["entries"]] == [str(first)]
    assert balances(db)[ledger["1100"]] == 500 and balances(db)[ledger["3100"]] == -500


def test_a_twin_idempotency_key_is_told_from_other_integrity_errors(db, ledger):
    """The service retries a write only when another transaction saved the same key first."""
    answer = idempotency.StoredAnswer("0" * 64, 201, "{}")
    with db.write() as connection:
        idempotency.save(connection, user_id=ledger["user_id"], key="twin", answer=answer, now=NOW)
    with pytest.raises(IntegrityError) as twin, db.write() as connection:
        idempotency.save(connection, user_id=ledger["user_id"], key="twin", answer=answer, now=NOW)
    with pytest.raises(IntegrityError) as unknown_user, db.write() as connection:
        idempotency.save(connection, user_id=999_999, key="other", answer=answer, now=NOW)
    assert idempotency.is_duplicate_key(twin.value)
    assert not idempotency.is_duplicate_key(unknown_user.value)
