"""The fund office's dashboard: the loan portfolio as the latest close of business left it, its
portfolio at risk by month over a fiscal year, the instalments falling due in the next days, the
loans in arrears, what waits for approval, and how far close of business has come.

The portfolio reads `loan_month` (a row a loan and month, written by close of business:
`store.loan_cob`), not every loan's schedule and transactions as `loan_cob.portfolio` does:
the figures of the day that close of business closed, by the same `ledger.loan_book.Portfolio`,
so they equal `GET /v1/portfolio?as_of=` that day. A month's figure is its latest close of
business (a loan repaid since an earlier one that month has no row of that day, and so no
outstanding).

The loans are CODI's, in its own books (`store.books.codi_book_ids`): not an organisation's
loans to its members, in the organisation's book.

Every figure but the approvals can be cut by the borrower's region, province, incubation
centre and programme, as the reports cut (`store.reports.parties_in`); several cuts at once
narrow each other.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from ledger.loan_book import Portfolio, par_percent
from ledger.loans import DEFAULT_AGEING_BOUNDS, loan_class
from store.admin_commands import command_t
from store.books import codi_book_ids, party_t
from store.equity import purchase_t
from store.loan_cob import loan_month_t
from store.loans import instalment_t, loan_t, schedule_t
from store.reports import Cut, check_cut, parties_in, programme_t

Row = dict[str, Any]
CUT_DIMENSIONS = ("region", "province", "centre", "programme")
MAX_CHOICES = 200  # of each filter's values offered
MAX_ARREARS_PAGE = 100


@dataclass(frozen=True)
class LoanFilter:
    """The borrowers a dashboard looks at: any combination of the reports' cuts."""

    region: str | None = None
    province: str | None = None
    centre: str | None = None  # the incubation centre's party id
    programme: str | None = None

    def cuts(self) -> list[Cut]:
        return [Cut(name, value) for name in CUT_DIMENSIONS if (value := getattr(self, name))]


def check_filter(connection: Connection, chosen: LoanFilter) -> None:
    """Refuse a centre that is not one, as the reports do."""
    for cut in chosen.cuts():
        check_cut(connection, cut)


def _filtered(query, chosen: LoanFilter, borrower=loan_month_t.c.borrower_party_id):
    """`query` of the loans whose `borrower` is in every cut chosen."""
    return query.where(*[borrower.in_(parties_in(cut)) for cut in chosen.cuts()])


# --- close of business --------------------------------------------------------------------------


def last_closed_day(connection: Connection) -> date | None:
    """The latest business day that close of business closed for any loan (None: never)."""
    query = select(loan_month_t.c.closed_on).order_by(
        loan_month_t.c.month_start.desc(), loan_month_t.c.closed_on.desc()
    )
    return connection.execute(query.limit(1)).scalar_one_or_none()


def _on_day(day: date):
    """The rows close of business wrote on `day` (its month's, of that day) of loans owing principal."""
    m = loan_month_t.c
    return and_(m.month_start == day.replace(day=1), m.closed_on == day, m.outstanding_satang > 0,
                m.book_id.in_(codi_book_ids()))  # fmt: skip


def portfolio_as_closed(
    connection: Connection, day: date, chosen: LoanFilter = LoanFilter(),
    bounds: tuple[int, ...] = DEFAULT_AGEING_BOUNDS,
) -> Portfolio:  # fmt: skip
    """The loans with principal outstanding at the end of `day` as its close of business left
    them, by Bank of Thailand class and days-past-due bucket (`bounds`), with PAR30 and PAR90."""
    m = loan_month_t.c
    query = select(m.days_past_due, m.charged_off, func.count(), func.sum(m.outstanding_satang)).where(_on_day(day))
    result = Portfolio(bounds)
    for age, charged_off, count, outstanding in connection.execute(
        _filtered(query, chosen).group_by(m.days_past_due, m.charged_off)
    ):
        result.add(int(outstanding), age, {}, count=count, charged_off=bool(charged_off))
    return result


@dataclass(frozen=True)
class MonthAtRisk:
    """A month's portfolio at risk, as its latest close of business left it."""

    start: date  # the month's first day
    closed_on: date
    count: int
    gross_satang: int
    over_30_satang: int
    over_90_satang: int

    @property
    def par30_percent(self) -> Decimal:
        return par_percent(self.over_30_satang, self.gross_satang)

    @property
    def par90_percent(self) -> Decimal:
        return par_percent(self.over_90_satang, self.gross_satang)


def at_risk_by_month(
    connection: Connection, first: date, last: date, chosen: LoanFilter = LoanFilter()
) -> list[MonthAtRisk]:
    """PAR30 and PAR90 of each month from `first` to `last` (first days of months) that a close
    of business reached, at its latest close of business, oldest first."""
    m = loan_month_t.c
    latest = select(m.month_start, func.max(m.closed_on)).where(m.month_start.between(first, last))
    amount = m.outstanding_satang
    figures = select(
        func.count(), func.coalesce(func.sum(amount), 0),
        func.coalesce(func.sum(case((or_(m.days_past_due > 30, m.charged_off), amount), else_=0)), 0),
        func.coalesce(func.sum(case((or_(m.days_past_due > 90, m.charged_off), amount), else_=0)), 0),
    )  # fmt: skip
    months = []
    # a month at a time: each reads its day's rows from the index that covers them
    for start, closed_on in connection.execute(latest.group_by(m.month_start).order_by(m.month_start)).all():
        count, gross, over_30, over_90 = connection.execute(_filtered(figures.where(_on_day(closed_on)), chosen)).one()
        months.append(MonthAtRisk(start, closed_on, count, int(gross), int(over_30), int(over_90)))
    return months


# --- instalments and arrears --------------------------------------------------------------------


@dataclass(frozen=True)
class FallingDue:
    """The instalments of active loans falling due in a span of days, as scheduled."""

    first: date
    last: date
    loans: int
    instalments: int
    amount_satang: int  # principal and interest scheduled


def falling_due(connection: Connection, first: date, last: date, chosen: LoanFilter = LoanFilter()) -> FallingDue:
    """What the active loans' schedules in force (their newest versions) have falling due from
    `first` to `last`, both included."""
    i = instalment_t.c
    newest = select(func.max(schedule_t.c.version)).where(schedule_t.c.loan_id == i.loan_id).scalar_subquery()
    query = (
        select(func.count(func.distinct(i.loan_id)), func.count(), func.sum(i.principal_satang + i.interest_satang))
        .select_from(instalment_t.join(loan_t, loan_t.c.id == i.loan_id))
        .where(i.due_on.between(first, last), i.version == newest, loan_t.c.status == "active",
               loan_t.c.book_id.in_(codi_book_ids()))
    )  # fmt: skip
    loans, instalments, amount = connection.execute(_filtered(query, chosen, loan_t.c.borrower_party_id)).one()
    return FallingDue(first, last, loans, instalments, int(amount or 0))


def loans_in_arrears(
    connection: Connection, day: date, chosen: LoanFilter = LoanFilter(), *, offset: int = 0, limit: int = 25
) -> list[Row]:
    """The loans past due at the end of `day` as its close of business left them, the most days
    first: loan, borrower and its incubation centre, days past due, the Bank of Thailand class
    they give (`loan_class`), principal outstanding."""
    m, borrower = loan_month_t.c, party_t.alias("borrower")
    centre = party_t.alias("centre")
    query = (
        select(m.loan_id, m.days_past_due, m.outstanding_satang, m.borrower_party_id,
               borrower.c.name_th.label("borrower_th"), borrower.c.name_en.label("borrower_en"), borrower.c.province,
               borrower.c.centre_id, centre.c.name_th.label("centre_th"), centre.c.name_en.label("centre_en"))
        .select_from(loan_month_t.join(borrower, borrower.c.id == m.borrower_party_id)
                     .outerjoin(centre, centre.c.id == borrower.c.centre_id))
        .where(_on_day(day), m.days_past_due > 0)
        .order_by(m.days_past_due.desc(), m.loan_id).offset(offset).limit(min(limit, MAX_ARREARS_PAGE))
    )  # fmt: skip
    rows = connection.execute(_filtered(query, chosen)).mappings()
    return [{**r, "loan_class": loan_class(r["days_past_due"]).value} for r in rows]


# --- approvals and filters ----------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """What waits for a second person: loan applications, investment purchases over the
    approval threshold, admin commands."""

    loans: int
    purchases: int
    commands: int


def pending(connection: Connection) -> Pending:
    def count(table, condition) -> int:
        return connection.execute(select(func.count()).select_from(table).where(condition)).scalar_one()

    applied = and_(loan_t.c.status == "applied", loan_t.c.book_id.in_(codi_book_ids()))
    return Pending(count(loan_t, applied), count(purchase_t, purchase_t.c.status == "pending"),
                   count(command_t, command_t.c.status == "pending"))  # fmt: skip


def filter_choices(connection: Connection) -> dict[str, Sequence]:
    """The values each filter offers: the regions and provinces of the parties, the incubation
    centres, the programmes."""
    def distinct(column) -> list[str]:
        query = select(column).distinct().where(column.is_not(None)).order_by(column)
        return list(connection.execute(query.limit(MAX_CHOICES)).scalars())

    centres = select(party_t.c.id, party_t.c.name_th, party_t.c.name_en).where(party_t.c.kind == "incubation_centre")
    programmes = select(programme_t.c.programme).distinct().order_by(programme_t.c.programme).limit(MAX_CHOICES)
    return {
        "region": distinct(party_t.c.region), "province": distinct(party_t.c.province),
        "centre": [dict(r) for r in connection.execute(centres.order_by(party_t.c.id).limit(MAX_CHOICES)).mappings()],
        "programme": list(connection.execute(programmes).scalars()),
    }  # fmt: skip
