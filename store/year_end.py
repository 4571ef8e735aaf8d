"""The year-end close of a book's fiscal year, and its reversal.

Closing fiscal year N (BE) of a book, once N has ended:
  1. posts the closing entries, dated N's last day: every income and expense account brought
     to zero, the net into accumulated surplus (`ledger.reports.closing_entries`);
  2. locks N's periods (the book is closed through N's last day, or stays closed further);
  3. opens N+1 with the balances carried forward, kept as `year_end_balance` rows: the opening
     balances of N+1, equal to the balances at the end of N after the close.
Years close in order: N only after N-1, unless the book has nothing dated before N.

The closing entries are part of the close itself, so they are the one thing a locked last
period accepts: the close holds the book's row exclusively, lifts its lock to the day before
the year end for its own entries, and puts it back, all in one transaction (the database's
period guard sees the same). Reversing a close (an admin, with a reason, while N+1 is not
closed) reverses the closing entries the same way, and gives the book back the lock it had
before the close if nothing was closed since.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ledger.accounts import EntryDraft
from ledger.calendar import fiscal_year_bounds, fiscal_year_of
from ledger.charts import BookKind
from ledger.errors import LedgerError, Rejection
from ledger.reports import SURPLUS_ACCOUNT_CODE, closing_entries
from store import books, journal
from store.books import book_t
from store.journal import month_t
from store.reports import report_accounts
from store.tables import YearEndBalance, YearEndClose, YearEndEntry, YearEndReversal

close_t = YearEndClose.__table__
close_entry_t = YearEndEntry.__table__
carried_t = YearEndBalance.__table__
reversal_t = YearEndReversal.__table__

Row = dict[str, Any]
CLOSING_KIND = "year_end.close"
IN_FORCE = close_t.c.id.not_in(select(reversal_t.c.close_id))


def close_year(
    connection: Connection, *, book_id: int, fiscal_year: int, today: date, closed_by: int, now: datetime
) -> Row:
    """Close fiscal year `fiscal_year` of the book; returns the close as `get_close` reads it."""
    _, year_end = fiscal_year_bounds(fiscal_year)
    book = _lock_book(connection, book_id)
    if found := blockers(connection, book_id=book_id, fiscal_year=fiscal_year, today=today):
        raise LedgerError(Rejection.period_not_closable, found[0].detail)
    accounts = report_accounts(connection, [book_id])
    balances = journal.balances_as_of(connection, book_id, year_end)
    [surplus_account] = [a.id for a in accounts if a.code == SURPLUS_ACCOUNT_CODE[BookKind(book["kind"])]]
    drafts = [
        EntryDraft(book_id, year_end, CLOSING_KIND, f"Closing entry of FY{fiscal_year}", postings)
        for postings in closing_entries(accounts, balances, surplus_account)
    ]
    with _lock_lifted(connection, book, year_end):
        entry_ids = [journal.record_entry(connection, d, recorded_by=closed_by, recorded_at=now) for d in drafts]
    surplus = -sum(p.amount_satang for d in drafts for p in d.postings if p.account_id == surplus_account)
    close_id = connection.execute(insert(close_t).values(
        book_id=book_id, fiscal_year=fiscal_year, closed_through=year_end, surplus_satang=surplus,
        previous_closed_through=book["closed_through"], closed_at=now, closed_by=closed_by,
    )).inserted_primary_key[0]  # fmt: skip
    if entry_ids:
        connection.execute(insert(close_entry_t), [{"entry_id": e, "close_id": close_id, "book_id": book_id}
                                                   for e in entry_ids])  # fmt: skip
    for draft in drafts:
        for posting in draft.postings:
            balances[posting.account_id] = balances.get(posting.account_id, 0) + posting.amount_satang
    carried = [{"close_id": close_id, "account_id": a, "balance_satang": b} for a, b in sorted(balances.items()) if b]
    if carried:
        connection.execute(insert(carried_t), carried)
    if book["closed_through"] is None or book["closed_through"] < year_end:
        _set_closed_through(connection, book_id, year_end)
    return get_close(connection, close_id)


@dataclass(frozen=True)
class Blocker:
    """What stands in the way of a year's close: `kind` (BLOCKER_KINDS), in words for the log,
    and the fiscal year or the day it concerns (the year to close first, the day it may close)."""

    kind: str
    detail: str
    fiscal_year: int | None = None
    day: date | None = None


BLOCKER_KINDS = ("not_ended", "closed_already", "earlier_year_open")


def blockers(connection: Connection, *, book_id: int, fiscal_year: int, today: date) -> list[Blocker]:
    """Every reason the book's fiscal year cannot be closed today, none if it can (reads only):
    the year has not ended; it is closed already (or a later one is); an earlier year is open.
    Years close in order, each once; a year without income or expenses has nothing to close and
    need not be closed first (`_first_year_to_close`)."""
    _, year_end = fiscal_year_bounds(fiscal_year)
    found = []
    if today <= year_end:
        opens = year_end + timedelta(days=1)
        found.append(Blocker("not_ended", f"FY{fiscal_year} ends on {year_end}; it can be closed from {opens}",
                             day=opens))  # fmt: skip
    latest = connection.execute(
        select(func.max(close_t.c.fiscal_year)).where(close_t.c.book_id == book_id, IN_FORCE)
    ).scalar_one()
    if latest is not None and latest >= fiscal_year:
        detail = f"FY{latest} of book {book_id} is closed; FY{fiscal_year} cannot be closed again"
        return [*found, Blocker("closed_already", detail, fiscal_year=latest)]
    due = _first_year_to_close(connection, book_id, after=latest) or fiscal_year
    if due < fiscal_year:
        detail = f"FY{due} of book {book_id} is open: close it before FY{fiscal_year}"
        found.append(Blocker("earlier_year_open", detail, fiscal_year=due))
    return found


def _first_year_to_close(connection: Connection, book_id: int, *, after: int | None) -> int | None:
    """The earliest fiscal year after `after` (the latest close in force; None: the book's whole
    history) in which an income or expense account of the book has a posting: the next year that
    must be closed. A year before it holds no income or expense (no entry at all, or only
    balance-sheet entries such as the opening entry a book starts with, dated the last day of
    the year before): its close would post nothing and carry forward what the next close carries
    forward anyway, so it need not be closed first. None when no such year comes after `after`."""
    account_t = books.account_t
    query = (
        select(func.min(month_t.c.month_start))
        .join(account_t, account_t.c.id == month_t.c.account_id)
        .where(month_t.c.book_id == book_id, account_t.c.type.in_(("income", "expense")))
    )  # fmt: skip
    if after is not None:
        query = query.where(month_t.c.month_start > fiscal_year_bounds(after)[1])
    first_month = connection.execute(query).scalar_one()
    return fiscal_year_of(first_month) if first_month is not None else None


def reverse_close(
    connection: Connection, *, book_id: int, fiscal_year: int, reason: str, reversed_by: int, now: datetime
) -> Row:
    """Reverse the close of `fiscal_year` in force: its closing entries reversed on their date, the
    book's earlier lock given back if nothing was closed since."""
    book = _lock_book(connection, book_id)
    query = select(close_t).where(close_t.c.book_id == book_id, close_t.c.fiscal_year == fiscal_year, IN_FORCE)
    close = connection.execute(query).mappings().first()
    if close is None:
        raise books.not_found("year-end close", f"FY{fiscal_year} of book {book_id}")
    later = select(close_t.c.fiscal_year).where(
        close_t.c.book_id == book_id, close_t.c.fiscal_year > fiscal_year, IN_FORCE
    )
    if (next_year := connection.execute(later).scalar()) is not None:
        raise LedgerError(
            Rejection.period_closed, f"FY{next_year} of book {book_id} is closed: the close of FY{fiscal_year} stays"
        )
    entries = select(close_entry_t.c.entry_id).where(close_entry_t.c.close_id == close["id"]).order_by("entry_id")
    with _lock_lifted(connection, book, close["closed_through"]):
        for entry_id in connection.execute(entries).scalars().all():
            journal.reverse_entry(
                connection, entry_id=entry_id, effective_date=None, recorded_by=reversed_by, recorded_at=now,
                description=f"Reversal of the closing entry of FY{fiscal_year}: {reason}"[:500],
            )  # fmt: skip
    connection.execute(insert(reversal_t).values(
        close_id=close["id"], book_id=book_id, reason=reason, reversed_at=now, reversed_by=reversed_by
    ))  # fmt: skip
    if book["closed_through"] == close["closed_through"]:
        _set_closed_through(connection, book_id, close["previous_closed_through"])
    return get_close(connection, close["id"])


def _lock_book(connection: Connection, book_id: int) -> Row:
    book = connection.execute(select(book_t).where(book_t.c.id == book_id).with_for_update()).mappings().first()
    if book is None:
        raise books.not_found("book", book_id)
    return dict(book)


def _set_closed_through(connection: Connection, book_id: int, day: date | None) -> None:
    connection.execute(update(book_t).where(book_t.c.id == book_id).values(closed_through=day))


@contextmanager
def _lock_lifted(connection: Connection, book: Row, day: date) -> Iterator[None]:
    """Let entries dated `day` into a book closed through `day` or later, and lock it again."""
    locked = book["closed_through"]
    lift = locked is not None and locked >= day
    if lift:
        _set_closed_through(connection, book["id"], day - timedelta(days=1))
    yield
    if lift:
        _set_closed_through(connection, book["id"], locked)


def get_close(connection: Connection, close_id: int) -> Row:
    close = dict(connection.execute(select(close_t).where(close_t.c.id == close_id)).mappings().one())
    entries = select(close_entry_t.c.entry_id).where(close_entry_t.c.close_id == close_id).order_by("entry_id")
    close["entry_ids"] = list(connection.execute(entries).scalars())
    reversal = connection.execute(select(reversal_t).where(reversal_t.c.close_id == close_id)).mappings().first()
    close["reversal"] = dict(reversal) if reversal else None
    carried = select(carried_t.c.account_id, carried_t.c.balance_satang).where(carried_t.c.close_id == close_id)
    close["carried_forward"] = dict(connection.execute(carried.order_by(carried_t.c.account_id)).all())
    return close


def list_closes(connection: Connection, book_id: int) -> list[Row]:
    ids = select(close_t.c.id).where(close_t.c.book_id == book_id).order_by(close_t.c.fiscal_year, close_t.c.id)
    return [get_close(connection, close_id) for close_id in connection.execute(ids).scalars().all()]
