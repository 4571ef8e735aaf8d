"""The same work in raw SQL through the driver (sqlite3 or psycopg), as the baseline each
benchmark is compared with: the same rows written under the same locks, the same queries read.

What the raw side leaves out is what our layers add: HTTP, authentication, request parsing and
validation in Python, the balance-rule check before writing (the database's own constraint
still holds), reading the new entry back, and rendering the answer.

A batch's rows of each table go in one statement, as a hand-written driver would write them and
as our code does (`store.rows`): on PostgreSQL one COPY a table (`Raw.insert_many`; a lone row
one INSERT, a round trip fewer), so the postings' statement trigger (migration 0003) runs once a
batch, not once a posting; COPY fires the same triggers, foreign keys and deferred checks as
INSERT. On SQLite, whose triggers are row triggers, one prepared INSERT reused for every row
(executemany).

    Raw(url)                          one connection; `?` placeholders on both drivers
      insert_many(table, rows)        a batch of rows of a `Table`: COPY, or executemany on SQLite
    record(raw, entries, keys, ...)   entries, their idempotency records and one audit record,
                                      in the open transaction; made of the steps below, which
                                      `bench.raw_sales` puts together for sales:
      lock, insert_entries,           the books share-locked, the balance rows locked; entries
      save_answers, append_audit      and postings, idempotency records, an audit record
    import_file(url, path, batch)     bulk import of the JSON lines `store.bulk` reads
"""

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice

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


@dataclass(frozen=True)
class Table:
    """A table and the columns a batch of its rows gives, in order; how `Raw.insert_many` writes them."""

    name: str
    columns: tuple[str, ...]

    @property
    def insert(self) -> str:
        return f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({placeholders(len(self.columns))})"

    @property
    def copy(self) -> str:
        return f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN"


class Raw:
    """One driver connection, autocommitting; `write()` is one transaction."""

    def __init__(self, url: str) -> None:
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            # Unprepared, as store.engine sends ours: a generic plan fixed while a table was small
            # (the key lookup's) turns into a scan of it as it grows.
            self.connection = psycopg.connect(url.replace("+psycopg", ""), autocommit=True, prepare_threshold=None)
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

    def insert_many(self, table: Table, rows: list[tuple]) -> None:
        """Insert `rows` (values in the order of `table.columns`) in one statement on PostgreSQL,
        so statement triggers run once for all of them: COPY, as our code writes a batch, but a
        lone row by INSERT (one round trip, where COPY takes two). On SQLite by executemany, one
        prepared INSERT reused for every row (SQLite's triggers are row triggers)."""
        if not self.postgres:
            self.many(table.insert, rows)
        elif len(rows) == 1:
            self.run(table.insert, rows[0])
        else:
            with self.connection.cursor() as cursor, cursor.copy(table.copy) as copy:
                for row in rows:
                    copy.write_row(row)

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
POSTING = Table("posting", ("entry_id", "book_id", "account_id", "effective_date", "amount_satang"))
ENTRY = Table("entry", ("id", "book_id", "effective_date", "recorded_at", "kind", "description", "dimensions",
                        "recorded_by"))  # fmt: skip
KEY = Table("idempotency_record", ("user_id", "key", "request_hash", "status_code", "response_body", "created_at"))
INSERT_AUDIT = """INSERT INTO audit_record (seq, recorded_at, actor, role, action, target,
    request_id, idempotency_key, request_hash, outcome, entry_ids, previous_hash, hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def next_ids(raw: Raw, table: str, count: int) -> list[int]:
    """Ids for `count` new rows of `table`, taken before they are inserted, as our code takes them."""
    if raw.postgres:
        query = f"SELECT nextval('{table}_id_seq') FROM generate_series(1, ?)"
        return sorted(r[0] for r in raw.all(query, (count,)))
    [(first,)] = raw.all(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return list(range(first, first + count))


def next_entry_ids(raw: Raw, count: int) -> list[int]:
    return next_ids(raw, "entry", count)


def stamp(raw: Raw, now: datetime) -> datetime | str:
    """A recording time as the driver is given it: aware on PostgreSQL, SQLAlchemy's text on SQLite."""
    return now if raw.postgres else now.replace(tzinfo=None).isoformat(" ")


def lock(raw: Raw, entries: list[RawEntry], also: Iterable[int] = ()) -> dict[int, int]:
    """Share-lock the entries' books, then lock the balance rows of their accounts (and of the
    accounts `also` names) in ascending order; their balances."""
    books = sorted({e.book_id for e in entries})
    raw.all(LOCK_BOOKS.format(placeholders(len(books))) + raw.lock("SHARE"), books)
    accounts = sorted({a for e in entries for a, _ in e.postings} | set(also))
    return dict(raw.all(LOCK_BALANCES.format(placeholders(len(accounts))) + raw.lock(), accounts))


def insert_entries(raw: Raw, entries: list[RawEntry], *, user_id: int, recorded_at) -> list[int]:
    """Write the entries, their postings first (as the guards expect); their ids."""
    ids = next_entry_ids(raw, len(entries))
    pairs = list(zip(ids, entries, strict=True))
    postings = [(i, e.book_id, a, e.effective_date, s) for i, e in pairs for a, s in e.postings]
    raw.insert_many(POSTING, postings)
    raw.insert_many(ENTRY, [
        (i, e.book_id, e.effective_date, recorded_at, e.kind, e.description, e.dimensions, user_id)
        for i, e in pairs
    ])  # fmt: skip
    return ids


def save_answers(raw: Raw, answers: list[tuple[str, str, dict]], *, user_id: int, recorded_at) -> None:
    """An idempotency record for each (key, request hash, answer)."""
    rows = [(user_id, key, digest, 201, json.dumps(body), recorded_at) for key, digest, body in answers]
    raw.insert_many(KEY, rows)


def refuse_known_keys(raw: Raw, user_id: int, keys: list[str]) -> None:
    """The keys are new (our import looks them up to replay or refuse a line; these files have none)."""
    assert not raw.all(KNOWN_KEYS.format(placeholders(len(keys))), (user_id, *keys))


def record(
    raw: Raw, entries: list[RawEntry], keys: list[tuple[str, str]], *, user_id: int, action: str
) -> list[int]:
    """Write entries (postings first, as the guards expect), an idempotency record per
    (key, request hash) and one audit record; returns the entry ids."""
    now = datetime.now(UTC)
    at = stamp(raw, now)
    lock(raw, entries)
    ids = insert_entries(raw, entries, user_id=user_id, recorded_at=at)
    answers = [(key, digest, {"entry_id": i}) for i, (key, digest) in zip(ids, keys, strict=True)]
    save_answers(raw, answers, user_id=user_id, recorded_at=at)
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


def cli_user(raw: Raw) -> int:
    """The user our command-line imports record as."""
    [(user_id,)] = raw.all("SELECT id FROM app_user WHERE name = 'cli'")
    return user_id


def line_batches(path: str, batch_size: int) -> Iterator[list[bytes]]:
    """The file's lines, `batch_size` at a time."""
    with open(path, "rb") as source:
        while batch := list(islice(source, batch_size)):
            yield batch


def import_file(url: str, path: str, batch_size: int) -> int:
    """Import the JSON lines at `path` in batches of `batch_size`; returns the entries recorded."""
    raw = Raw(url)
    books = dict(raw.all("SELECT code, id FROM book"))
    codes = {(b, c): i for b, c, i in raw.all("SELECT book_id, code, id FROM account")}
    user_id = cli_user(raw)
    recorded = 0
    for batch in line_batches(path, batch_size):
        entries, keys = [], []
        for line in batch:
            data = json.loads(line)
            entries.append(raw_entry(data, books[data["book"]], codes))
            keys.append((data["key"], hashlib.sha256(line.strip()).hexdigest()))
        with raw.write():
            refuse_known_keys(raw, user_id, [key for key, _ in keys])
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
