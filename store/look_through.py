"""The look-through's figures, read from the organisations' own books (`ledger.look_through`
computes with them), and a member's own summary: savings and loans.

A member loan's principal outstanding is the balance of its receivable sub-account, its days
past due and instalments come from its schedule in force on the day (`store.loans.plans_of`), its
repayments from `store.loans.payments_of`: the readers the schedule of loans receivable uses.
An organisation's margin is its interest from members (4100) less its interest to CODI (5100)
from the start of the fiscal year to the day, without the year-end closing entries; its
surplus (3300) and reserve (3200) are balances at the end of the day, all with their sub-accounts.
"""

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection, func, select

from ledger.calendar import fiscal_year_of, periods_of_fiscal_year
from ledger.errors import LedgerError
from ledger.loans import days_past_due
from ledger.look_through import Figures, MemberLoan, organisation_figures
from ledger.reports import movements_between, rolled_up
from store import books, journal, reports
from store.books import Row, account_t, book_t, not_found, party_t
from store.loans import loan_t, payments_of, plans_of, terms_from_json
from store.reports import programme_t
from store.tiers import organisation_book

MARGIN_INCOME, MARGIN_EXPENSE, SURPLUS, RESERVE, SAVINGS = "4100", "5100", "3300", "3200", "2200"


def fiscal_months(as_of: date) -> list[date]:
    """The first days of the months of `as_of`'s fiscal year, up to its own month."""
    return [p.start for p in periods_of_fiscal_year(fiscal_year_of(as_of)) if p.start <= as_of]


# --- organisations -------------------------------------------------------------------------------


def organisations(connection: Connection, only: int | None = None) -> list[Row]:
    """The parties with an organisation book (its lowest id), in id order, with their region,
    province, centre, programmes and number of members; with `only`, that party's alone."""
    own = (
        select(book_t.c.party_id, func.min(book_t.c.id).label("book_id"))
        .where(book_t.c.kind == "organisation", book_t.c.party_id.is_not(None))
        .group_by(book_t.c.party_id)
        .subquery()
    )
    p = party_t.c
    query = select(p.id, p.name_th, p.name_en, p.region, p.province, p.centre_id, own.c.book_id).join(
        own, own.c.party_id == p.id
    )
    if only is not None:
        query = query.where(p.id == only)
    rows = [dict(r) for r in connection.execute(query.order_by(p.id)).mappings()]
    ids = [r["id"] for r in rows]
    members = _members_of(connection, ids)
    programmes = _programmes_of(connection, ids)
    return [{**r, "members": members.get(r["id"], 0), "programmes": programmes.get(r["id"], [])} for r in rows]


def _members_of(connection: Connection, organisation_ids: Sequence[int]) -> dict[int, int]:
    query = (
        select(party_t.c.member_of, func.count())
        .where(party_t.c.kind == "member", party_t.c.member_of.in_(organisation_ids))
        .group_by(party_t.c.member_of)
    )
    return {organisation: int(count) for organisation, count in connection.execute(query)}


def _programmes_of(connection: Connection, party_ids: Sequence[int]) -> dict[int, list[str]]:
    query = select(programme_t.c.party_id, programme_t.c.programme).where(programme_t.c.party_id.in_(party_ids))
    found: dict[int, list[str]] = {}
    for party_id, programme in connection.execute(query.order_by(programme_t.c.programme)):
        found.setdefault(party_id, []).append(programme)
    return found


def own_figures(connection: Connection, book_id: int, as_of: date) -> Figures:
    """The organisation's margin over the fiscal year to `as_of`, its surplus and its reserve."""
    accounts = books.book_accounts(connection, book_id)
    parents = {a["id"]: a["parent_id"] for a in accounts}
    code = {a["code"]: a["id"] for a in accounts}
    first = fiscal_months(as_of)[0]
    closing = journal.balances_as_of(connection, book_id, as_of)
    opening = reports.opening_balances(connection, [book_id], first, None)
    closes = reports.closing_movements(connection, [book_id], first, as_of)
    moved = rolled_up(movements_between(opening, closing, closes), parents)
    held = rolled_up(closing, parents)
    return Figures(
        margin_satang=-moved[code[MARGIN_INCOME]] - moved[code[MARGIN_EXPENSE]],
        surplus_satang=-held[code[SURPLUS]], reserve_satang=-held[code[RESERVE]],
    )  # fmt: skip


# --- member loans --------------------------------------------------------------------------------


def member_loans(connection: Connection, book_id: int, as_of: date, borrower: int | None = None) -> list[Row]:
    """The book's loans disbursed by `as_of` (of `borrower` only, if given), each with its
    `MemberLoan` on that day, in id order."""
    query = select(loan_t.c.id, loan_t.c.borrower_party_id, loan_t.c.status, loan_t.c.amount_satang,
                   loan_t.c.receivable_account_id).where(loan_t.c.book_id == book_id,
                                                         loan_t.c.receivable_account_id.is_not(None))  # fmt: skip
    if borrower is not None:
        query = query.where(loan_t.c.borrower_party_id == borrower)
    loans = [dict(r) for r in connection.execute(query.order_by(loan_t.c.id)).mappings()]
    ids = [loan["id"] for loan in loans]
    plans, paid = plans_of(connection, ids, as_of), payments_of(connection, ids, as_of)
    owed = journal.balances_as_of(connection, book_id, as_of, [loan["receivable_account_id"] for loan in loans])
    return [
        {**loan, "figures": _member_loan(plans[loan["id"]], paid.get(loan["id"], []),
                                         owed.get(loan["receivable_account_id"], 0), as_of)}
        for loan in loans if loan["id"] in plans
    ]  # fmt: skip


def _member_loan(planned: tuple, paid: list[tuple[date, int]], outstanding: int, as_of: date) -> MemberLoan:
    plan, terms = planned
    age = days_past_due(plan, terms_from_json(terms), paid, as_of) if outstanding else 0
    dues = [(i.due_on, i.total_satang) for i in plan.instalments if i.due_on <= as_of]
    return MemberLoan(outstanding, age, dues, paid)


def look_through(connection: Connection, as_of: date, only: int | None = None) -> list[tuple[Row, Figures]]:
    """Each organisation (`organisations`) with its look-through figures on `as_of`."""
    months = fiscal_months(as_of)

    def figures(book_id: int, members: int) -> Figures:
        loans = [loan["figures"] for loan in member_loans(connection, book_id, as_of)]
        return organisation_figures(members, loans, months, own_figures(connection, book_id, as_of))

    return [(org, figures(org["book_id"], org["members"])) for org in organisations(connection, only)]


# --- a member's own ------------------------------------------------------------------------------


def member(connection: Connection, member_id: int, visible_to: int | None) -> Row:
    """The member; with `visible_to`, only if that party is the member or its organisation,
    decided in the same one query as the look-up (another's member costs what an unknown id does)."""
    query = select(party_t).where(party_t.c.id == member_id, party_t.c.kind == "member")
    if visible_to is not None:
        query = query.where((party_t.c.id == visible_to) | (party_t.c.member_of == visible_to))
    row = connection.execute(query).mappings().first()
    if row is None:
        raise not_found("member", member_id)
    return dict(row)


def member_book(connection: Connection, organisation_id: int) -> Row | None:
    """The organisation's book, or None for an organisation that keeps none here."""
    try:
        return organisation_book(connection, organisation_id)
    except LedgerError:
        return None


def savings_of(connection: Connection, book_id: int, member_id: int, as_of: date) -> int:
    """The member's savings at the end of `as_of`: what the organisation owes on its account
    2200-<member> (TIERS.md convention 2), 0 if it has none."""
    query = select(account_t.c.id).where(account_t.c.book_id == book_id, account_t.c.code == f"{SAVINGS}-{member_id}")
    account_id = connection.execute(query).scalar_one_or_none()
    if account_id is None:
        return 0
    return -journal.balances_as_of(connection, book_id, as_of, [account_id]).get(account_id, 0)
