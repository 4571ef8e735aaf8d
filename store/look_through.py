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
from dataclasses import fields
from datetime import date, timedelta

from sqlalchemy import JSON, BigInteger, Connection, and_, cast, extract, func, select, type_coerce, union_all

from ledger.calendar import fiscal_year_of, periods_of_fiscal_year
from ledger.errors import LedgerError
from ledger.loan_book import TxKind
from ledger.loans import LoanTerms, days_past_due
from ledger.look_through import Figures, MemberLoan, aged_figures, by_month, organisation_figures, total
from ledger.reports import movements_between
from store import journal, reports
from store.books import Row, account_t, book_t, not_found, party_t
from store.journal import month_t, posting_t
from store.loans import (
    LIVE_TX,
    LIVE_VERSION,
    instalment_t,
    loan_t,
    loan_tx_t,
    payments_of,
    plans_of,
    schedule_t,
    terms_from_json,
)
from store.reports import programme_t
from store.rows import one_of
from store.tiers import organisation_book

MARGIN_INCOME, MARGIN_EXPENSE, SURPLUS, RESERVE, SAVINGS = "4100", "5100", "3300", "3200", "2200"
OWN_CODES = (MARGIN_INCOME, MARGIN_EXPENSE, SURPLUS, RESERVE)
TERM_DEFAULTS = {f.name: f.default for f in fields(LoanTerms)}


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


def _balances(connection: Connection, book_ids: Sequence[int], accounts, as_of: date):
    """A query of the balances at the end of `as_of` of the accounts (in the books) that
    `accounts` names: a query of keys and account ids, summed by key. Whole months come from
    the monthly movements, plus, unless `as_of` ends its month, the postings of its own month
    (as `store.journal.balances_as_of`)."""
    month_start = as_of.replace(day=1)
    month_ends = (as_of + timedelta(days=1)).day == 1
    m, p, keyed = month_t.c, posting_t.c, accounts.subquery()
    whole = m.month_start <= month_start if month_ends else m.month_start < month_start
    parts = [select(keyed.c.key, m.movement_satang.label("amount"))
             .join(month_t, m.account_id == keyed.c.account_id)
             .where(one_of(connection, m.book_id, book_ids), whole)]  # fmt: skip
    if not month_ends:
        parts.append(select(keyed.c.key, p.amount_satang.label("amount"))
                     .join(posting_t, p.account_id == keyed.c.account_id)
                     .where(one_of(connection, p.book_id, book_ids),
                            p.effective_date.between(month_start, as_of)))  # fmt: skip
    rows = union_all(*parts).subquery()
    return select(rows.c.key, cast(func.sum(rows.c.amount), BigInteger)).group_by(rows.c.key)


def _own_figures(connection: Connection, book_ids: Sequence[int], first: date, as_of: date) -> dict[int, Figures]:
    """Each book's margin over `first` to `as_of` (4100 less 5100, without the year-end closing
    entries), its surplus (3300) and reserve (3200) at the end of `as_of`, each with all the
    accounts below it: the accounts under the four found in one recursive query."""
    a = account_t.c
    roots = (
        select(a.id.label("account_id"), a.book_id, a.code)
        .where(one_of(connection, a.book_id, book_ids), a.code.in_(OWN_CODES))
        .cte("own_accounts", recursive=True)
    )
    below = account_t.alias("below")
    tree = roots.union_all(
        select(below.c.id, below.c.book_id, roots.c.code).join(below, below.c.parent_id == roots.c.account_id)
    )
    under = {account_id: (book_id, code) for account_id, book_id, code in
             connection.execute(select(tree.c.account_id, tree.c.book_id, tree.c.code))}  # fmt: skip
    ids = list(under)
    if not ids:
        return {}

    def balances(day: date) -> dict[int, int]:
        accounts = select(a.id.label("key"), a.id.label("account_id")).where(one_of(connection, a.id, ids))
        query = _balances(connection, book_ids, accounts, day)
        return {account_id: int(balance) for account_id, balance in connection.execute(query)}

    held = balances(as_of)
    moved = movements_between(balances(first - timedelta(days=1)), held,
                              reports.closing_movements(connection, book_ids, first, as_of))  # fmt: skip
    sums: dict[tuple[int, str], dict[str, int]] = {}
    for account_id, (book_id, code) in under.items():
        both = sums.setdefault((book_id, code), {"moved": 0, "held": 0})
        both["moved"] += moved.get(account_id, 0)
        both["held"] += held.get(account_id, 0)

    def of(book_id: int, code: str, kind: str) -> int:
        return sums.get((book_id, code), {}).get(kind, 0)

    return {
        book_id: Figures(margin_satang=-of(book_id, MARGIN_INCOME, "moved") - of(book_id, MARGIN_EXPENSE, "moved"),
                         surplus_satang=-of(book_id, SURPLUS, "held"), reserve_satang=-of(book_id, RESERVE, "held"))
        for book_id in book_ids
    }  # fmt: skip


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
    """Each organisation (`organisations`) with its look-through figures on `as_of`, read for all
    of them at once: a fixed number of queries, each summed by the database book by book,
    whatever the number of organisations and member loans."""
    months = fiscal_months(as_of)
    found = organisations(connection, only)
    book_ids = [org["book_id"] for org in found]
    if not book_ids:
        return []
    loans = _in_force(connection, book_ids, as_of)
    aged = _aged(connection, book_ids, loans, as_of)
    due = _by_month(connection, _dues(loans, months[0], as_of), months)
    paid = _by_month(connection, _repayments(connection, book_ids, loans, months[0], as_of), months)
    own = _own_figures(connection, book_ids, months[0], as_of)
    none = (0,) * len(months)

    def figures(org: Row) -> Figures:
        book = org["book_id"]
        monthly = Figures(due_satang=due.get(book, none), collected_satang=paid.get(book, none))
        own_and_loans = total([own.get(book, Figures()), monthly, *aged.get(book, [])])
        return organisation_figures(org["members"], [], months, own_and_loans)

    return [(org, figures(org)) for org in found]


def _in_force(connection: Connection, book_ids: Sequence[int], as_of: date):
    """The books' disbursed loans with their schedule version in force on `as_of` (loans with
    none by then are left out, as `member_loans` leaves them), the grace days of its terms, and
    what counts as covered of its instalments: its repayments by `as_of` towards them, and the
    terms' arrears tolerance. A CTE."""
    s, c = schedule_t.c, loan_tx_t.c
    newest = (
        select(s.loan_id, func.max(s.version).label("version"))
        .where(one_of(connection, s.book_id, book_ids), s.effective_from <= as_of, LIVE_VERSION)
        .group_by(s.loan_id)
        .subquery()
    )
    paid = (
        select(c.loan_id, func.sum(c.interest_satang + c.principal_satang).label("paid"))
        .where(one_of(connection, c.book_id, book_ids), c.kind == TxKind.repayment.value, c.effective_date <= as_of,
               LIVE_TX)
        .group_by(c.loan_id)
        .subquery()
    )  # fmt: skip
    covered = func.coalesce(paid.c.paid, 0) + _setting(connection, "arrears_tolerance_satang")
    in_force = (
        select(loan_t.c.id, loan_t.c.book_id, loan_t.c.receivable_account_id, newest.c.version,
               covered.label("covered"), _setting(connection, "overdue_grace_days").label("grace"))
        .join(newest, newest.c.loan_id == loan_t.c.id)
        .join(schedule_t, and_(s.loan_id == newest.c.loan_id, s.version == newest.c.version))
        .outerjoin(paid, paid.c.loan_id == loan_t.c.id)
        .where(one_of(connection, loan_t.c.book_id, book_ids), loan_t.c.receivable_account_id.is_not(None))
        .cte("in_force")
    )  # fmt: skip
    # Made once, a narrow row a loan: PostgreSQL would otherwise read each loan's terms (JSON)
    # again for each of its instalments.
    return in_force.prefix_with("MATERIALIZED") if connection.dialect.name == "postgresql" else in_force


def _setting(connection: Connection, name: str):
    """A whole-number setting of the schedule version's terms (kept as JSON text), read in SQL;
    its default if the terms predate it."""
    terms = schedule_t.c.terms
    as_json = cast(terms, JSON) if connection.dialect.name == "postgresql" else type_coerce(terms, JSON)
    return func.coalesce(as_json[name].as_numeric(20, 0), TERM_DEFAULTS[name])


def _aged(connection: Connection, book_ids: Sequence[int], loans, as_of: date) -> dict[int, list[Figures]]:
    """Each book's loans' figures on `as_of` (outstanding, arrears, PAR), a line for the loans of
    the same age: the database finds each loan's principal outstanding (its receivable
    account's balance) and the due date of its oldest instalment not covered by its repayments
    (`ledger.loans.days_past_due`: paying instalments oldest first, within the tolerance); the
    loans are summed here by book and age (a loan a row: no plan joins two derived tables well on
    both databases)."""
    i = instalment_t.c
    # Instalments due before the day are the first of their schedule (due dates follow numbers),
    # so their running total is the one `days_past_due` bisects: the oldest not covered is the
    # first whose running total passes what the loan paid, with the tolerance.
    running = func.sum(i.principal_satang + i.interest_satang).over(partition_by=i.loan_id, order_by=i.number)
    past = (
        select(i.loan_id, i.due_on, running.label("cumulative"), loans.c.covered, loans.c.grace)
        .join(loans, and_(i.loan_id == loans.c.id, i.version == loans.c.version))
        .where(i.due_on < as_of)
        .subquery()
    )
    oldest = (
        select(past.c.loan_id, func.min(past.c.due_on), func.max(past.c.grace))
        .where(past.c.cumulative > past.c.covered)
        .group_by(past.c.loan_id)
    )
    late = {loan_id: (due_on, grace) for loan_id, due_on, grace in connection.execute(oldest)}
    accounts = select(loans.c.id.label("key"), loans.c.receivable_account_id.label("account_id"))
    owed = _balances(connection, book_ids, accounts, as_of).subquery()
    by_age: dict[tuple[int, int], list[int]] = {}
    for loan_id, book_id, outstanding in connection.execute(
        select(loans.c.id, loans.c.book_id, owed.c[1]).join(owed, owed.c.key == loans.c.id)
    ):
        due_on, grace = late.get(loan_id, (as_of, 0))
        days = (as_of - due_on).days
        summed = by_age.setdefault((book_id, days if days > grace else 0), [0, 0])
        summed[0] += 1 if outstanding else 0
        summed[1] += int(outstanding)
    found: dict[int, list[Figures]] = {}
    for (book_id, age), (count, outstanding_satang) in by_age.items():
        found.setdefault(book_id, []).append(aged_figures(count, outstanding_satang, age))
    return found


def _dues(loans, first: date, as_of: date):
    """The instalments (interest and principal) of the schedules in force falling due from
    `first` to `as_of`, by book and day."""
    i = instalment_t.c
    return (
        select(loans.c.book_id, i.due_on.label("day"), (i.principal_satang + i.interest_satang).label("satang"))
        .join(loans, and_(i.loan_id == loans.c.id, i.version == loans.c.version))
        .where(i.due_on.between(first, as_of))
    )


def _repayments(connection: Connection, book_ids: Sequence[int], loans, first: date, as_of: date):
    """What the loans' repayments from `first` to `as_of` paid towards instalments, by book and day."""
    c = loan_tx_t.c
    paid = (c.interest_satang + c.principal_satang).label("satang")
    return select(c.book_id, c.effective_date.label("day"), paid).where(
        one_of(connection, c.book_id, book_ids), c.kind == TxKind.repayment.value,
        c.effective_date.between(first, as_of), LIVE_TX, c.loan_id.in_(select(loans.c.id)),
    )  # fmt: skip


def _by_month(connection: Connection, amounts, months: Sequence[date]) -> dict[int, tuple[int, ...]]:
    """`amounts` (book, day, satang) summed by book and month in the database, as `ledger.look_through.by_month`
    sums them."""
    rows = amounts.subquery()
    year, month = extract("year", rows.c.day), extract("month", rows.c.day)
    query = select(rows.c.book_id, year, month, cast(func.sum(rows.c.satang), BigInteger)).group_by(
        rows.c.book_id, year, month
    )
    found: dict[int, list[tuple[date, int]]] = {}
    for book_id, y, m, satang in connection.execute(query):
        found.setdefault(book_id, []).append((date(int(y), int(m), 1), int(satang)))
    return {book_id: by_month(months, sums) for book_id, sums in found.items()}


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
