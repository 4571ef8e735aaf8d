"""The figures of the statements, read from the database.

Balances as of a date come from `journal.balances_as_of` (monthly movements plus one month of
postings), so a statement of a book with a million postings reads a few thousand rows, never
every posting. Two things cost a scan of postings, bounded by what they select: a cut by
dimension and the general ledger's lines.

A cut by dimension (region, province, incubation centre, programme) selects whole entries: an
entry is in the cut when its own dimensions name the value (`{"province": "Nakhon Sawan"}`) or
when one of its postings is on an account carrying a party of the cut (a party in the region or
province, the centre itself or a party it incubates, a party in the programme). Whole entries
keep a cut's trial balance at zero; an entry touching parties of two provinces is in both cuts.

Schedules: the loans receivable of a fund by loan (borrower, Bank of Thailand class as of the
date, principal outstanding from the loan's receivable sub-account) with the allowance held for
each borrower (sub-accounts of 1290 carrying the borrower) and the general allowance; and, for any
control account, its sub-accounts by the party they carry (investments by enterprise: 1300 and
its impairment 1390 in a fund; contributions receivable by enterprise: 1200 in a welfare fund).
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, func, or_, select

from ledger.accounts import AccountType
from ledger.errors import LedgerError, Rejection
from ledger.loans import days_past_due, loan_class
from ledger.reports import ReportAccount
from store import books, journal
from store.books import account_t, party_t
from store.journal import ROWS_PER_FETCH, entry_t, posting_t
from store.loans import loan_t, payments_of, plans_of, terms_from_json
from store.tables import PartyProgramme, YearEndEntry

programme_t = PartyProgramme.__table__
year_end_entry_t = YearEndEntry.__table__

Row = dict[str, Any]
DIMENSIONS = ("region", "province", "centre", "programme")
MAX_BOOKS = 20
# A general ledger's lines drawn at once (the auditor's page, PDF and XLSX); narrow the period or the
# account. The API's JSON and CSV stream from `account_ledger_rows`, without a bound.
MAX_LEDGER_LINES = 20_000
LOAN_BATCH = 500


@dataclass(frozen=True)
class Cut:
    """A dimension and its value: `Cut("province", "Nakhon Sawan")`."""

    dimension: str
    value: str


def check_cut(connection: Connection, cut: Cut | None) -> None:
    """Refuse a dimension we do not know, a region outside the list, or a centre that is not one."""
    if cut is None:
        return
    if cut.dimension not in DIMENSIONS:
        raise LedgerError(Rejection.unknown_dimension, f"dimension {cut.dimension!r} is not one of {DIMENSIONS}")
    if cut.dimension == "centre":
        centre = books.get_party(connection, _centre_id(cut.value)) if cut.value.isdigit() else None
        if centre is None or centre["kind"] != "incubation_centre":
            raise LedgerError(Rejection.unknown_dimension, f"centre {cut.value!r} is not an incubation centre")


def _centre_id(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 19 else 0


# --- accounts and balances ---------------------------------------------------------------------


def report_accounts(connection: Connection, book_ids: Sequence[int]) -> list[ReportAccount]:
    """The accounts of the books, book by book, each in code order."""
    return [
        ReportAccount(
            a["id"],
            a["book_id"],
            a["code"],
            a["name_en"] or a["name_th"],
            a["name_th"],
            AccountType(a["type"]),
            a["parent_id"],
            a["party_id"],
        )  # fmt: skip
        for book_id in book_ids
        for a in books.book_accounts(connection, book_id)
    ]


def owners(connection: Connection, book_ids: Sequence[int]) -> dict[int, int | None]:
    return {book_id: books.get_book(connection, book_id)["party_id"] for book_id in book_ids}


def balances(connection: Connection, book_ids: Sequence[int], as_of: date, cut: Cut | None = None) -> dict[int, int]:
    """Each account's balance at the end of `as_of` (nothing before the beginning of time)."""
    if as_of < date.min + timedelta(days=1):
        return {}
    if cut is None:
        result: dict[int, int] = {}
        for book_id in book_ids:
            result |= journal.balances_as_of(connection, book_id, as_of)
        return result
    query = _postings(book_ids, cut).where(posting_t.c.effective_date <= as_of)
    return _summed(connection, query)


def opening_balances(connection: Connection, book_ids: Sequence[int], date_from: date, cut: Cut | None) -> dict:
    return balances(connection, book_ids, date_from - timedelta(days=1), cut) if date_from > date.min else {}


def closing_movements(
    connection: Connection, book_ids: Sequence[int], date_from: date, date_to: date, cut: Cut | None = None
) -> dict[int, int]:
    """What the year-end closing entries, and the reversals of any, moved within the period: an
    income statement leaves them out."""
    # A handful of entries: found by id (each has its index), never by scanning the period.
    closing = select(year_end_entry_t.c.entry_id).where(year_end_entry_t.c.book_id.in_(book_ids))
    entry_ids = list(connection.execute(closing).scalars())
    if not entry_ids:
        return {}
    entry_ids += connection.execute(select(entry_t.c.id).where(entry_t.c.reverses_entry_id.in_(entry_ids))).scalars()
    query = _postings(book_ids, cut).where(
        posting_t.c.effective_date.between(date_from, date_to), posting_t.c.entry_id.in_(entry_ids)
    )
    return _summed(connection, query)


def _postings(book_ids: Sequence[int], cut: Cut | None):
    query = select(posting_t.c.account_id, func.sum(posting_t.c.amount_satang)).where(posting_t.c.book_id.in_(book_ids))
    if cut is not None:
        query = query.join(entry_t, entry_t.c.id == posting_t.c.entry_id).where(_in_cut(book_ids, cut))
    return query.group_by(posting_t.c.account_id)


def _summed(connection: Connection, query) -> dict[int, int]:
    return {account_id: int(amount) for account_id, amount in connection.execute(query)}


def _in_cut(book_ids: Sequence[int], cut: Cut) -> ColumnElement[bool]:
    """Entries of the cut: tagged with it, or touching an account of one of its parties."""
    # Entries keep their dimensions as canonical JSON (sorted keys, ", " and ": "), in which a
    # value's quotes are escaped: the pair's text can only match the pair itself.
    pair = f"{json.dumps(cut.dimension)}: {json.dumps(cut.value, ensure_ascii=False)}"
    pattern = "%" + pair.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    party_accounts = select(account_t.c.id).where(
        account_t.c.book_id.in_(book_ids), account_t.c.party_id.in_(parties_in(cut))
    )
    touching = posting_t.alias("touching")
    touches = exists().where(touching.c.entry_id == entry_t.c.id, touching.c.account_id.in_(party_accounts))
    return or_(entry_t.c.dimensions.like(pattern, escape="\\"), touches)


def parties_in(cut: Cut):
    """The parties of a cut (a query of their ids): in its region or province, the centre itself
    or a party it incubates, or enrolled in the programme."""
    if cut.dimension == "programme":
        return select(programme_t.c.party_id).where(programme_t.c.programme == cut.value)
    if cut.dimension == "centre":
        centre = _centre_id(cut.value)
        return select(party_t.c.id).where(or_(party_t.c.id == centre, party_t.c.centre_id == centre))
    return select(party_t.c.id).where(party_t.c[cut.dimension] == cut.value)


# --- the general ledger ------------------------------------------------------------------------


def ledger_lines(
    connection: Connection, book_ids: Sequence[int], date_from: date, date_to: date, cut: Cut | None,
    account_id: int | None = None,
) -> list[tuple[int, int, date, str, int]]:  # fmt: skip
    """(account, entry, date, description, amount) of every posting in the period, in date and
    entry order; refused when there are more than MAX_LEDGER_LINES."""
    query = (
        select(posting_t.c.account_id, entry_t.c.id, entry_t.c.effective_date, entry_t.c.description,
               posting_t.c.amount_satang)
        .join(entry_t, entry_t.c.id == posting_t.c.entry_id)
        .where(posting_t.c.book_id.in_(book_ids), posting_t.c.effective_date.between(date_from, date_to))
    )  # fmt: skip
    if account_id is not None:
        query = query.where(posting_t.c.account_id == account_id)
    if cut is not None:
        query = query.where(_in_cut(book_ids, cut))
    count = connection.execute(select(func.count()).select_from(query.limit(MAX_LEDGER_LINES + 1).subquery()))
    if count.scalar_one() > MAX_LEDGER_LINES:
        raise LedgerError(
            Rejection.report_too_large,
            f"the general ledger has more than {MAX_LEDGER_LINES} lines: narrow the period or choose an account",
        )
    ordered = query.order_by(posting_t.c.effective_date, posting_t.c.entry_id, posting_t.c.id)
    return [tuple(row) for row in connection.execute(ordered)]


def account_ledger_rows(
    connection: Connection, book_ids: Sequence[int], account_id: int, date_from: date, date_to: date,
    cut: Cut | None,
) -> Iterator[tuple[int, date, str, int]]:  # fmt: skip
    """(entry, date, description, amount) of one account's postings in the period, in date and
    entry order, read through a server-side cursor: the streamed general ledger's, unbounded."""
    query = (
        select(entry_t.c.id, entry_t.c.effective_date, entry_t.c.description, posting_t.c.amount_satang)
        .join(entry_t, entry_t.c.id == posting_t.c.entry_id)
        .where(posting_t.c.account_id == account_id, posting_t.c.book_id.in_(book_ids),
               posting_t.c.effective_date.between(date_from, date_to))
        .order_by(posting_t.c.effective_date, posting_t.c.entry_id, posting_t.c.id)
    )  # fmt: skip
    if cut is not None:
        query = query.where(_in_cut(book_ids, cut))
    streamed = connection.execution_options(stream_results=True, yield_per=ROWS_PER_FETCH)
    for row in streamed.execute(query):
        yield tuple(row)  # type: ignore[misc]


# --- schedules ---------------------------------------------------------------------------------


def loans_receivable(connection: Connection, book_id: int, as_of: date, party_id: int | None = None) -> list[Row]:
    """The book's disbursed loans with principal outstanding at the end of `as_of` (the balance
    of each loan's receivable sub-account), their borrower, days past due and class then."""
    query = (
        select(loan_t.c.id, loan_t.c.receivable_account_id, loan_t.c.borrower_party_id, party_t.c.name_th,
               party_t.c.name_en, party_t.c.region, party_t.c.province)
        .join(party_t, party_t.c.id == loan_t.c.borrower_party_id)
        .where(loan_t.c.book_id == book_id, loan_t.c.receivable_account_id.is_not(None))
        .order_by(loan_t.c.id).limit(LOAN_BATCH)
    )  # fmt: skip
    if party_id is not None:
        query = query.where(loan_t.c.borrower_party_id == party_id)
    lines: list[Row] = []
    after = 0
    while batch := [dict(r) for r in connection.execute(query.where(loan_t.c.id > after)).mappings()]:
        after = batch[-1]["id"]
        lines += _outstanding(connection, book_id, batch, as_of)
    return lines


def _outstanding(connection: Connection, book_id: int, loans: list[Row], as_of: date) -> list[Row]:
    accounts = [loan["receivable_account_id"] for loan in loans]
    owed = journal.balances_as_of(connection, book_id, as_of, accounts)
    ids = [loan["id"] for loan in loans]
    plans, paid = plans_of(connection, ids, as_of), payments_of(connection, ids, as_of)
    lines = []
    for loan in loans:
        outstanding = owed.get(loan["receivable_account_id"], 0)
        if outstanding == 0 or loan["id"] not in plans:
            continue
        plan, terms = plans[loan["id"]]
        age = days_past_due(plan, terms_from_json(terms), paid.get(loan["id"], []), as_of)
        lines.append({**loan, "outstanding_satang": outstanding, "days_past_due": age, "class": str(loan_class(age))})
    return lines


def sub_ledger(
    connection: Connection, book_id: int, as_of: date, codes: Sequence[str], party_id: int | None = None
) -> tuple[list[Row], dict[str, int]]:
    """The sub-accounts (and theirs) of the control accounts `codes` by the party they carry:
    rows of party, its names, region and province, and its balance under each code; and each
    code's own balance and that of its sub-accounts without a party (the unassigned part)."""
    accounts = books.book_accounts(connection, book_id)
    by_id = {a["id"]: a for a in accounts}
    roots = {a["id"]: a["code"] for a in accounts if a["code"] in codes and a["parent_id"] is None}
    owed = journal.balances_as_of(connection, book_id, as_of)
    parties: dict[int, dict[str, int]] = {}
    unassigned = dict.fromkeys(codes, 0)
    for account in accounts:
        root = account["id"]
        while root not in roots and by_id[root]["parent_id"] is not None:
            root = by_id[root]["parent_id"]
        if root not in roots or not owed.get(account["id"]):
            continue
        code, party = roots[root], account["party_id"]
        if party is None:
            unassigned[code] += owed[account["id"]]
        elif party_id in (None, party):
            parties.setdefault(party, dict.fromkeys(codes, 0))[code] += owed[account["id"]]
    described = {p["id"]: p for p in _parties(connection, list(parties))}
    rows = [{**described[p], "balances": sums} for p, sums in sorted(parties.items())]
    return rows, unassigned


def _parties(connection: Connection, party_ids: list[int]) -> list[Row]:
    columns = (party_t.c.id, party_t.c.name_th, party_t.c.name_en, party_t.c.region, party_t.c.province)
    return [dict(r) for r in connection.execute(select(*columns).where(party_t.c.id.in_(party_ids))).mappings()]


def allowance_by_party(
    connection: Connection, book_id: int, as_of: date, party_id: int | None
) -> tuple[dict[int, int], int]:
    """The allowance for loan losses (1290) held for each borrower, and the general part."""
    rows, unassigned = sub_ledger(connection, book_id, as_of, ("1290",), party_id)
    return {row["id"]: row["balances"]["1290"] for row in rows}, unassigned["1290"]


# --- programmes --------------------------------------------------------------------------------


def add_programme(connection: Connection, party_id: int, programme: str) -> list[str]:
    """Enrol a party in a programme (once); returns its programmes."""
    books.get_party(connection, party_id)
    known = programmes_of(connection, party_id)
    if programme in known:
        raise LedgerError(Rejection.duplicate, f"party {party_id} is in programme {programme!r} already")
    connection.execute(programme_t.insert().values(party_id=party_id, programme=programme))
    return sorted([*known, programme])


def programmes_of(connection: Connection, party_id: int) -> list[str]:
    query = select(programme_t.c.programme).where(programme_t.c.party_id == party_id).order_by(programme_t.c.programme)
    return list(connection.execute(query).scalars())
