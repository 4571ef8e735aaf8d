"""The home page: for an enterprise person, the enterprise at a glance; for a member's person,
their savings and loans (`web.routes.tiers`); for the others, a menu.

The enterprise's figures come from the store functions the API's routes call, with the API's
own access rule (`api.routes.welfare.own`: a party-bound principal sees its own party, and
anything else is 404):

- sales this fiscal year, paid to the funds, owed on all sales: welfare.enterprise_summary
  (GET /v1/enterprises/{id}/sales-summary);
- cash: books.book_accounts, code 1100 of the enterprise's book (GET /v1/books/{id}/accounts);
- loans: loans.list_loans and loans.state(...).figures (GET /v1/loans, GET /v1/loans/{id});
- the fund's shares and dividends: equity.list_investments and equity.figures_of
  (GET /v1/enterprises/{id}/equity).
"""

from dataclasses import dataclass
from datetime import date

from fastapi import Request
from sqlalchemy import Connection

from api.context import JOURNAL_WRITERS
from api.routes.welfare import own
from ledger.calendar import fiscal_year_bounds, fiscal_year_of
from ledger.parties import PartyKind
from store import books, equity, loans, welfare
from store.users import Principal
from web.routes import page_router
from web.routes.tiers import member_home
from web.session import PagePrincipal
from web.templating import render

router = page_router()
CASH_CODE = "1100"
MAX_LOANS_SHOWN = 20


@dataclass(frozen=True)
class LoanLine:
    loan_id: int
    outstanding_satang: int
    next_due_on: date | None
    next_due_satang: int
    days_past_due: int


@router.get("/")
def home(request: Request, principal: PagePrincipal):
    if principal.role == "enterprise" and _is_member(request, principal.party_id):
        return member_home(request, principal, principal.party_id)
    if principal.role == "enterprise":
        return _enterprise_page(request, principal, principal.party_id)
    return render(request, "menu.html")


def _is_member(request: Request, party_id: int) -> bool:
    """A member's person (a token bound to a member party) gets the member's own page."""
    with request.app.state.db.read() as connection:
        return books.get_party(connection, party_id)["kind"] == PartyKind.member


@router.get("/enterprises/{party_id}")
def enterprise_home(request: Request, principal: PagePrincipal, party_id: int):
    """The same page for any enterprise, to the staff (and to the enterprise itself)."""
    return _enterprise_page(request, principal, party_id)


def _enterprise_page(request: Request, principal: Principal, party_id: int):
    own(principal, party_id, "enterprise")
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        party = books.get_party(connection, party_id)
        book = equity.enterprise_book(connection, party_id)  # None: the enterprise keeps no book here
        figures = {"sales": book and _sales(connection, party_id, today), "cash": book and _cash(connection, book),
                   "loans": _loans(connection, party_id, today), "shares": _shares(connection, party_id, today)}
    may_record = principal.role in JOURNAL_WRITERS
    return render(request, "enterprise_home.html", party=party, enterprise_id=party_id, today=today,
                  fiscal_year=fiscal_year_of(today), may_record=may_record, **figures)  # fmt: skip


def _sales(connection: Connection, party_id: int, today: date) -> dict:
    """This fiscal year's sales and payments to the funds, and what is owed on all sales."""
    year_start, _ = fiscal_year_bounds(fiscal_year_of(today))
    this_year = welfare.enterprise_summary(connection, party_id, year_start, today)["by_fund"]
    ever = welfare.enterprise_summary(connection, party_id, date.min, today)["by_fund"]
    return {
        "sales_satang": sum(r["sales_satang"] for r in this_year),
        "sales_count": sum(r["sales_count"] for r in this_year),
        "contributions_satang": sum(r["contributions_satang"] for r in this_year),
        "paid_satang": sum(r["paid_satang"] for r in this_year),
        "owed_satang": sum(r["outstanding_satang"] for r in ever),
        "year_start": year_start,
    }


def _cash(connection: Connection, book: dict) -> dict:
    cash = next(a for a in books.book_accounts(connection, book["id"]) if a["code"] == CASH_CODE)
    return {"balance_satang": cash["balance_satang"], "type": cash["type"]}


def _loans(connection: Connection, party_id: int, today: date) -> list[LoanLine]:
    rows = loans.list_loans(connection, filters={"status": "active"}, only_party=party_id, after=0,
                            limit=MAX_LOANS_SHOWN)  # fmt: skip
    lines = []
    for loan in rows:
        f = loans.state(connection, loan, today).figures(today)
        lines.append(LoanLine(loan["id"], f.principal_outstanding_satang, f.next_due_on, f.next_due_satang,
                              f.days_past_due))  # fmt: skip
    return lines


def _shares(connection: Connection, party_id: int, today: date) -> dict | None:
    rows = equity.list_investments(connection, filters={"enterprise_party_id": party_id}, only_party=None)
    if not rows:
        return None
    figures = equity.figures_of(connection, rows, today).values()
    return {
        "shares": sum(f.position.shares for f in figures),
        "percent_of_capital": sum(f.percent_of_capital for f in figures),
        "dividends_declared_satang": sum(f.dividends_declared_satang for f in figures),
        "dividends_received_satang": sum(f.dividends_received_satang for f in figures),
    }
