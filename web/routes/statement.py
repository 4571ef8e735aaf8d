"""An enterprise's statement of one of its accounts, for a fiscal year or a date range, and the
same statement to download as PDF or XLSX.

The accounts offered are those the API's access rule gives the enterprise (the books it owns,
and the accounts of other books that carry its party: `books.list_books` and
`books.list_accounts` with `only_party`); the account is looked up with the same rule
(`books.get_account(visible_to=...)`, `api.routes.registry.visible_account` for its own person),
the lines are `journal.account_statement` and the download `statement_file`, as
GET /v1/accounts/{id}/statement makes them.
"""

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from fastapi import Query, Request

from api.routes.journal import check_range, statement_file
from api.schemas import IdQuery
from ledger.accounts import AccountType, displayed_balance
from ledger.calendar import fiscal_year_bounds, fiscal_year_of
from ledger.errors import LedgerError, Rejection
from ledger.reports import Statement
from store import books, journal
from web.enterprise import EnterpriseId
from web.forms import message, read_date
from web.i18n import N_, language_of
from web.routes import page_router
from web.session import PagePrincipal
from web.templating import render

router = page_router()
YEARS_OFFERED = 5
MAX_BOOKS, MAX_ACCOUNTS = 20, 500
CASH_CODE = "1100"
YearQuery = Annotated[int | None, Query(ge=2443, le=2742)]
DateText = Annotated[str, Query(max_length=40)]


@dataclass(frozen=True)
class Line:
    """A statement line as the page shows it: the change on the account's own side."""

    effective_date: date
    description: str
    increase: bool
    change_satang: int
    running_balance_satang: int


@router.get("/statement")
def statement(request: Request, principal: PagePrincipal, enterprise_id: EnterpriseId, account: IdQuery = None,
              year: YearQuery = None, date_from: DateText = "", date_to: DateText = ""):  # fmt: skip
    today = request.app.state.clock.today()
    period, errors = _period(year or fiscal_year_of(today), date_from, date_to)
    with request.app.state.db.read() as connection:
        choices = _accounts(connection, enterprise_id)
        chosen = books.get_account(connection, account or _default(choices), visible_to=enterprise_id)
        result = None if errors else journal.account_statement(connection, chosen, *period)
    return render(request, "statement.html", 422 if errors else 200, enterprise_id=enterprise_id, choices=choices,
                  account=chosen, year=year or fiscal_year_of(today), years=_years(today), period=period,
                  date_from=date_from, date_to=date_to, errors=errors, error_of=dict(errors),
                  result=result, lines=result and _lines(chosen, result))  # fmt: skip


@router.get("/statement/download")
def download(request: Request, principal: PagePrincipal, enterprise_id: EnterpriseId, account: IdQuery,
             format: Literal["pdf", "xlsx"], year: YearQuery = None, date_from: DateText = "",
             date_to: DateText = ""):  # fmt: skip
    """The statement the page shows, as the API makes it for a download, in the page's language."""
    today = request.app.state.clock.today()
    period, errors = _period(year or fiscal_year_of(today), date_from, date_to)
    if errors:
        raise LedgerError(Rejection.invalid_request, "the statement's dates could not be read")
    with request.app.state.db.read() as connection:
        chosen = books.get_account(connection, account, visible_to=enterprise_id)
        result = journal.account_statement(connection, chosen, *period)
        return statement_file(connection, chosen, result, period, format, language_of(request))


def _period(year: int, typed_from: str, typed_to: str) -> tuple[tuple[date, date], list]:
    """The fiscal year, unless two dates are typed: then from one to the other."""
    if not (typed_from.strip() or typed_to.strip()):
        return fiscal_year_bounds(year), []
    (first, from_error), (last, to_error) = read_date(typed_from), read_date(typed_to)
    errors = [(name, error) for name, error in (("date_from", from_error), ("date_to", to_error)) if error]
    if not errors:
        try:
            check_range(first, last)
        except LedgerError:
            errors = [("date_to", message(N_("The last day must not be before the first.")))]
    return (first, last) if not errors else fiscal_year_bounds(year), errors


def _accounts(connection, party_id: int) -> list[tuple[dict, list[dict]]]:
    """Each book the enterprise may see, with the accounts of it that it may see."""
    found = []
    for book in books.list_books(connection, only_party=party_id, after=0, limit=MAX_BOOKS):
        accounts = books.list_accounts(connection, book_id=book["id"], only_party=party_id, after=0,
                                       limit=MAX_ACCOUNTS)  # fmt: skip
        found.append((book, sorted(accounts, key=lambda a: a["code"])))
    return found


def _default(choices: list[tuple[dict, list[dict]]]) -> int:
    """The cash account of the enterprise's own book, else the first account it may see."""
    accounts = [a for book, accounts in choices for a in accounts]
    cash = [a for a in accounts if a["code"] == CASH_CODE]
    if not accounts:
        raise books.not_found("account of the enterprise", None)
    return (cash or accounts)[0]["id"]


def _years(today: date) -> list[int]:
    return [fiscal_year_of(today) - n for n in range(YEARS_OFFERED)]


def _lines(account: dict, result: Statement) -> list[Line]:
    lines = []
    for line in result.lines:
        change = displayed_balance(line.amount_satang, AccountType(account["type"]))
        lines.append(Line(line.effective_date, line.description, not change.unusual, change.figure_satang,
                          line.running_balance_satang))  # fmt: skip
    return lines
