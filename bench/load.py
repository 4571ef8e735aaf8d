"""Loading most of a long history fast, so that reads can be measured at scale on a slow machine.

The rows are those a bulk import would write (entries and postings, with their balances and
monthly movements) but without the per-entry bookkeeping of a write: no idempotency records,
one audit record per chunk of CHUNK_ENTRIES entries.

    SQLite      plain INSERTs in large transactions; the database's triggers run as always
    PostgreSQL  COPY with triggers off for the transaction (session_replication_role = replica),
                then balances and monthly movements computed from the loaded postings in two
                statements; VACUUM ANALYZE at the end, as autovacuum would after a large load

Afterwards `check` asks the database that every entry balances and that each account's stored
balance is the sum of its postings (invariants 1 and 3), so a fast load cannot hide a bad one.
"""

import json
from datetime import UTC, datetime

from bench import raw as rawsql

CHUNK_ENTRIES = 20_000

SUM_BALANCES = """UPDATE account_balance SET balance_satang = balance_satang + moved.amount,
    posting_count = posting_count + moved.postings
    FROM (SELECT account_id, sum(amount_satang) AS amount, count(*) AS postings FROM posting
          WHERE entry_id BETWEEN ? AND ? GROUP BY account_id) AS moved
    WHERE account_balance.account_id = moved.account_id"""
SUM_MONTHS = """INSERT INTO account_month (account_id, month_start, book_id, movement_satang)
    SELECT account_id, date_trunc('month', effective_date)::date, book_id, sum(amount_satang)
    FROM posting WHERE entry_id BETWEEN ? AND ? GROUP BY 1, 2, 3
    ON CONFLICT (account_id, month_start)
    DO UPDATE SET movement_satang = account_month.movement_satang + EXCLUDED.movement_satang"""
UNBALANCED = """SELECT count(*) FROM (SELECT entry_id FROM posting GROUP BY entry_id
    HAVING count(*) < 2 OR sum(amount_satang) <> 0) AS bad"""
DRIFTED = """SELECT count(*) FROM account_balance b LEFT JOIN
    (SELECT account_id, sum(amount_satang) AS amount FROM posting GROUP BY account_id) p
    ON p.account_id = b.account_id WHERE b.balance_satang <> coalesce(p.amount, 0)"""


def load(url: str, path: str) -> int:
    """Load every entry of the JSON lines at `path`; returns how many."""
    raw = rawsql.Raw(url)
    books = dict(raw.all("SELECT code, id FROM book"))
    codes = {(b, c): i for b, c, i in raw.all("SELECT book_id, code, id FROM account")}
    user_id, loaded = rawsql.cli_user(raw), 0
    for chunk in rawsql.line_batches(path, CHUNK_ENTRIES):
        entries = [rawsql.raw_entry(data, books[data["book"]], codes) for data in map(json.loads, chunk)]
        with raw.write():
            ids = insert_chunk(raw, entries, user_id)
            rawsql.append_audit(raw, action="bench.load", entry_ids=[ids[0], ids[-1]],
                                recorded_at=datetime.now(UTC).isoformat())  # fmt: skip
        loaded += len(entries)
    if raw.postgres:
        raw.connection.execute("VACUUM ANALYZE")
    raw.close()
    return loaded


def insert_chunk(raw: rawsql.Raw, entries: list[rawsql.RawEntry], user_id: int) -> list[int]:
    """The chunk's entries and postings, as `bench.raw` writes them; on PostgreSQL with the
    triggers off, and the balances and monthly movements they would have kept summed after."""
    if raw.postgres:
        raw.run("SET LOCAL session_replication_role = replica")
    ids = rawsql.insert_entries(raw, entries, user_id=user_id, recorded_at=rawsql.stamp(raw, datetime.now(UTC)))
    if raw.postgres:
        raw.run(SUM_BALANCES, (ids[0], ids[-1]))
        raw.run(SUM_MONTHS, (ids[0], ids[-1]))
    return ids


def check(url: str) -> None:
    raw = rawsql.Raw(url)
    problems = {"unbalanced entries": raw.all(UNBALANCED)[0][0], "drifted balances": raw.all(DRIFTED)[0][0]}
    raw.close()
    if any(problems.values()):
        raise RuntimeError(f"the loaded ledger is broken: {problems}")
