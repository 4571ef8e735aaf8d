"""Reading a whole book out, for a Beancount ledger or a CSV journal, in flat memory.

The postings are read through one server-side cursor (`stream_results`, `yield_per`) in
(effective date, entry id, posting id) order and grouped into entries as they come, so an
export of millions of postings holds one batch of rows at a time. Each export reads in one
read transaction of its own, so it is one consistent snapshot even while it streams.
"""

import json
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import groupby

from sqlalchemy import Connection, func, select

from ledger.beancount import ExportAccount, ExportEntry, ledger_chunks
from ledger.money import format_amount
from store.books import account_t, book_t, get_book, not_found, party_t
from store.engine import Database
from store.journal import entry_t, posting_t

ROWS_PER_FETCH = 5_000
BLOCK_CHARACTERS = 1 << 16  # what one chunk of a streamed answer holds, about
JOURNAL_CSV_HEADER = ("entry_id", "effective_date", "kind", "description", "reverses_entry_id", "account_code",
                      "account_name_th", "account_type", "amount", "debit", "credit")  # fmt: skip


def find_book(connection: Connection, key: str) -> dict:
    """A book by id or by code (the command line takes either)."""
    if key.isdigit():
        return get_book(connection, int(key))
    book_id = connection.execute(select(book_t.c.id).where(book_t.c.code == key)).scalar()
    if book_id is None:
        raise not_found("book", key)
    return get_book(connection, book_id)


def export_accounts(connection: Connection, book_id: int) -> list[ExportAccount]:
    query = (
        select(account_t.c.id, account_t.c.code, account_t.c.name_th, account_t.c.name_en, account_t.c.type,
               account_t.c.parent_id, account_t.c.party_id, party_t.c.name_th.label("party_name"))
        .outerjoin(party_t, party_t.c.id == account_t.c.party_id)
        .where(account_t.c.book_id == book_id)
        .order_by(account_t.c.code)
    )  # fmt: skip
    return [ExportAccount(*row) for row in connection.execute(query)]


def first_entry_day(connection: Connection, book_id: int) -> date | None:
    return connection.execute(select(func.min(entry_t.c.effective_date)).where(entry_t.c.book_id == book_id)).scalar()


def _posting_rows(connection: Connection, book_id: int):
    reversal = entry_t.alias("reversal")
    query = (
        select(entry_t.c.id, entry_t.c.effective_date, entry_t.c.kind, entry_t.c.description,
               entry_t.c.reverses_entry_id, reversal.c.id.label("reversed_by"), entry_t.c.dimensions,
               posting_t.c.account_id, posting_t.c.amount_satang)
        .join(entry_t, entry_t.c.id == posting_t.c.entry_id)
        .outerjoin(reversal, reversal.c.reverses_entry_id == entry_t.c.id)
        .where(posting_t.c.book_id == book_id)
        .order_by(posting_t.c.effective_date, posting_t.c.entry_id, posting_t.c.id)
    )  # fmt: skip
    return connection.execution_options(stream_results=True, yield_per=ROWS_PER_FETCH).execute(query)


def export_entries(connection: Connection, book_id: int) -> Iterator[ExportEntry]:
    """The book's entries with their postings, oldest first, read as they are needed."""
    for _, rows in groupby(_posting_rows(connection, book_id), key=lambda row: row.id):
        first, *rest = rows
        dimensions = tuple(sorted(json.loads(first.dimensions).items()))
        postings = tuple((row.account_id, row.amount_satang) for row in (first, *rest))
        yield ExportEntry(first.id, first.effective_date, first.kind, first.description, first.reverses_entry_id,
                          first.reversed_by, tuple((k, str(v)) for k, v in dimensions), postings)  # fmt: skip


def in_blocks(pieces: Iterable[str]) -> Iterator[str]:
    """Small pieces of text joined into blocks of about BLOCK_CHARACTERS, for fewer, larger writes."""
    block: list[str] = []
    size = 0
    for piece in pieces:
        block.append(piece)
        size += len(piece)
        if size >= BLOCK_CHARACTERS:
            yield "".join(block)
            block, size = [], 0
    if block:
        yield "".join(block)


def beancount_export(db: Database, book_id: int) -> Iterator[str]:
    """The book as a Beancount ledger, in blocks of text."""
    with db.read() as connection:
        book = get_book(connection, book_id)
        accounts = export_accounts(connection, book_id)
        first_day = first_entry_day(connection, book_id) or book["created_at"].date()
        title = f"{book['code']} {book['name_en'] or book['name_th']}"
        yield from in_blocks(ledger_chunks(title, accounts, first_day, export_entries(connection, book_id)))


def journal_csv_rows(db: Database, book_id: int) -> Iterator[tuple]:
    """One row per posting, oldest first: signed amount and the debit or credit column."""
    with db.read() as connection:
        accounts = {a.id: a for a in export_accounts(connection, book_id)}
        for row in _posting_rows(connection, book_id):
            account, amount = accounts[row.account_id], row.amount_satang
            debit, credit = (format_amount(amount), "") if amount > 0 else ("", format_amount(-amount))
            yield (row.id, row.effective_date.isoformat(), row.kind, row.description, row.reverses_entry_id,
                   account.code, account.name_th, account.type, format_amount(amount), debit, credit)  # fmt: skip
