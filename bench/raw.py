"""The same work in raw SQL through the driver (sqlite3 or psycopg), as the baseline each
benchmark is compared with: the same rows written under the same locks, the same queries read.

What the raw side leaves out is what our layers add: HTTP, authentication, request parsing and
validation in Python, the balance-rule check before writing (the database's own constraint
still holds), reading the new entry back, and rendering the answer.

    Raw(url)                          one connection; `?` placeholders on both drivers
    record(raw, entries, keys, ...)   entries, their idempotency records and one audit record,
                                      in the open transaction
    import_file(url, path, batch)     bulk import of the JSON lines `store.bulk` reads
"""

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg

from ledger.audit import chain_hash

SQLITE_PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "synchronous=FULL", "busy_timeout=30000")


@dataclass(frozen=True)
class RawEntry:
    book_id: int
    effective_date: str  # ISO 8601
    kind: str
    description: str
    dimensions: str  # canonical JSON
    postings: tuple[tuple[int, int], ...]  # (account id, satang)


class Raw:
    """One driver connection, autocommitting; `write()` is one transaction."""

    def __init__(self, url: str) -> None:
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            self.connection = psycopg.connect(url.replace("+psycopg", ""), autocommit=True)
        else:
            path = url.removeprefix("sqlite:///")
            self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            for pragma in SQLITE_PRAGMAS:  # as store.engine sets them
                self.connection.execute(f"PRAGMA {pragma}")

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def run(self, statement: str, params=()):
        if not self.postgres:  # dates are ISO text in SQLite: say so, rather than rely on adapters
            params = tuple(p.isoformat() if isinstance(p, date) else p for p in params)
        return self.connection.execute(self.sql(statement), params)

    def all(self, statement: str, params=()) -> list[tuple]:
        return self.run(statement, params).fetchall()

    def many(self, statement: str, rows: list[tuple]) -> None:
        self.connection.cursor().executemany(self.sql(statement), rows)

    def lock(self, mode: str = "UPDATE") -> str:
        return f" FOR {mode}" if self.postgres else ""

    @contextmanager
    def write(self) -> Iterator[None]:
        if self.postgres:
            with self.connection.transaction():
                yield
            return
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


LOCK_BOOKS = "SELECT id, closed_through FROM book WHERE id IN ({})"
LOCK_BALANCES = """SELECT account_id, balance_satang FROM account_balance
    WHERE account_id IN ({}) ORDER BY account_id"""
INSERT_POSTING = """INSERT INTO posting (entry_id, book_id, account_id, effective_date,
    amount_satang) VALUES (?, ?, ?, ?, ?)"""
INSERT_ENTRY = """INSERT INTO entry (id, book_id, effective_date, recorded_at, kind, description,
    dimensions, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
INSERT_KEY = """INSERT INTO idempotency_record (user_id, key, request_hash, status_code,
    response_body, created_at) VALUES (?, ?, ?, 201, ?, ?)"""
INSERT_AUDIT = """INSERT INTO audit_record (seq, recorded_at, actor, role, action, target,
    request_id, idempotency_key, request_hash, outcome, entry_ids, previous_hash, hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def next_entry_ids(raw: Raw, count: int) -> list[int]:
    if raw.postgres:
        query = "SELECT nextval('entry_id_seq') FROM generate_series(1, ?)"
        return sorted(r[0] for r in raw.all(query, (count,)))
    [(first,)] = raw.all("SELECT coalesce(max(id), 0) + 1 FROM entry")
    return list(range(first, first + count))


def record(
    raw: Raw, entries: list[RawEntry], keys: list[tuple[str, str]], *, user_id: int, action: str
) -> list[int]:
    """Write entries (postings first, as the guards expect), an idempotency record per
    (key, request hash) and one audit record; returns the entry ids."""
    now = datetime.now(UTC)
    stamp = now if raw.postgres else now.replace(tzinfo=None).isoformat(" ")
    books = sorted({e.book_id for e in entries})
    raw.all(LOCK_BOOKS.format(placeholders(len(books))) + raw.lock("SHARE"), books)
    accounts = sorted({a for e in entries for a, _ in e.postings})
    raw.all(LOCK_BALANCES.format(placeholders(len(accounts))) + raw.lock(), accounts)
    ids = next_entry_ids(raw, len(entries))
    pairs = list(zip(ids, entries, strict=True))
    postings = [(i, e.book_id, a, e.effective_date, s) for i, e in pairs for a, s in e.postings]
    raw.many(INSERT_POSTING, postings)
    raw.many(INSERT_ENTRY, [
        (i, e.book_id, e.effective_date, stamp, e.kind, e.description, e.dimensions, user_id)
        for i, e in pairs
    ])  # fmt: skip
    raw.many(INSERT_KEY, [
        (user_id, key, digest, json.dumps({"entry_id": i}), stamp)
        for i, (key, digest) in zip(ids, keys, strict=True)
    ])  # fmt: skip
    append_audit(raw, action=action, entry_ids=ids, recorded_at=now.isoformat())
    return ids


AUDITED_FIELDS = ("seq", "recorded_at", "actor", "role", "action", "target", "request_id",
                  "idempotency_key", "request_hash", "outcome", "entry_ids")  # fmt: skip


def append_audit(raw: Raw, *, action: str, entry_ids: list[int], recorded_at: str) -> None:
    """Lock the chain head (last, as the app does), chain one record onto it (hashed as
    `ledger.audit` hashes, so `codi-ledger audit verify` still passes), move the head."""
    [(seq, previous)] = raw.all("SELECT seq, hash FROM audit_head WHERE id = 1" + raw.lock())
    request_hash = hashlib.sha256(recorded_at.encode()).hexdigest()
    values = (seq + 1, recorded_at, "bench", "admin", action, f"entry:{entry_ids[0]}", "raw", None,
              request_hash, "ok", json.dumps(entry_ids))  # fmt: skip
    record_hash = chain_hash(previous, dict(zip(AUDITED_FIELDS, values, strict=True)))
    raw.run(INSERT_AUDIT, (*values, previous, record_hash))
    raw.run("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq + 1, record_hash))


def satang(amount: str) -> int:
    """Satang of an amount written with two places (as the generator writes them): no float."""
    whole, _, cents = amount.partition(".")
    value = abs(int(whole)) * 100 + int(cents)
    return -value if amount.startswith("-") else value


def raw_entry(data: dict, book_id: int, codes: dict[tuple[int, str], int]) -> RawEntry:
    postings = tuple((codes[book_id, p["account"]], satang(p["amount"])) for p in data["postings"])
    dimensions = json.dumps(data.get("dimensions", {}), sort_keys=True)
    return RawEntry(book_id, data["effective_date"], data["kind"], data["description"],
                    dimensions, postings)  # fmt: skip


KNOWN_KEYS = "SELECT key FROM idempotency_record WHERE user_id = ? AND key IN ({})"


def import_file(url: str, path: str, batch_size: int) -> int:
    """Import the JSON lines at `path` in batches of `batch_size`; returns the entries recorded."""
    raw = Raw(url)
    books = dict(raw.all("SELECT code, id FROM book"))
    codes = {(b, c): i for b, c, i in raw.all("SELECT book_id, code, id FROM account")}
    [(user_id,)] = raw.all("SELECT id FROM app_user WHERE name = 'cli'")
    recorded = 0
    with open(path, "rb") as source:
        while batch := [line for _, line in zip(range(batch_size), source, strict=False)]:
            entries, keys = [], []
            for line in batch:
                data = json.loads(line)
                entries.append(raw_entry(data, books[data["book"]], codes))
                keys.append((data["key"], hashlib.sha256(line.strip()).hexdigest()))
            with raw.write():
                params = (user_id, *(key for key, _ in keys))
                assert not raw.all(KNOWN_KEYS.format(placeholders(len(keys))), params)
                record(raw, entries, keys, user_id=user_id, action="entry.import")
            recorded += len(entries)
    raw.close()
    return recorded


# Reads: the queries behind balance, trial balance and statement.

BALANCE = "SELECT balance_satang FROM account_balance WHERE account_id = ?"
BOOK_BALANCES = """SELECT a.id, a.code, b.balance_satang FROM account a
    JOIN account_balance b ON b.account_id = a.id WHERE a.book_id = ? ORDER BY a.code"""
MONTHS_THROUGH = """SELECT account_id, sum(movement_satang) FROM account_month
    WHERE {} AND month_start {} ? GROUP BY account_id"""
DAYS_OF_MONTH = """SELECT account_id, sum(amount_satang) FROM posting
    WHERE {} AND effective_date >= ? AND effective_date <= ? GROUP BY account_id"""
STATEMENT_LINES = """SELECT e.id, e.effective_date, e.description, p.amount_satang
    FROM posting p JOIN entry e ON e.id = p.entry_id
    WHERE p.account_id = ? AND p.effective_date >= ? AND p.effective_date <= ?
    ORDER BY p.effective_date, p.entry_id, p.id"""


def balance(raw: Raw, account_id: int) -> int:
    return raw.all(BALANCE, (account_id,))[0][0]


def trial_balance(raw: Raw, book_id: int, as_of: date | None) -> dict[str, int]:
    accounts = raw.all(BOOK_BALANCES, (book_id,))
    if as_of is None:
        return {code: amount for _, code, amount in accounts}
    past = balances_as_of(raw, book_id, as_of)
    return {code: past.get(account_id, 0) for account_id, code, _ in accounts}


def balances_as_of(raw: Raw, book_id: int, as_of: date, account_id: int | None = None) -> dict:
    """Whole months from the monthly movements, plus the postings of `as_of`'s month up to it
    unless it ends the month; one account's rows are found by account, a book's by book."""
    month = as_of.replace(day=1)
    month_ends = (as_of + timedelta(days=1)).day == 1
    where, key = ("book_id = ?", book_id) if account_id is None else ("account_id = ?", account_id)
    queries = [(MONTHS_THROUGH.format(where, "<=" if month_ends else "<"), (key, month))]
    if not month_ends:
        queries.append((DAYS_OF_MONTH.format(where), (key, month, as_of)))
    result: dict[int, int] = {}
    for query, params in queries:
        for account, amount in raw.all(query, params):
            result[account] = result.get(account, 0) + int(amount)
    return result


def statement(raw: Raw, book_id: int, account_id: int, start: date, end: date) -> tuple[int, list]:
    """Opening balance and lines (entry id, date, description, amount) of one account."""
    opening = balances_as_of(raw, book_id, start - timedelta(days=1), account_id)
    return opening.get(account_id, 0), raw.all(STATEMENT_LINES, (account_id, start, end))
