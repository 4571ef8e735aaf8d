"""A book's periods for the fund's staff: each month of a fiscal year open or closed, the year's
close (what stands in its way, in words, with a link to put it right), and for an admin the
writes: close a month (and the months before it), close the fiscal year, reverse that close.

Everything is the API's: the months as GET /v1/books/{id}/periods answers them (`periods_body`),
the year's closes (`year_end.list_closes`), what blocks a close (`year_end.blockers`, the check
the close itself makes), and the writes `run_period_close`, `run_year_close` and
`run_close_reversal` (POST /v1/books/{id}/periods/close, /year-end-closes and its reversal: the
same audited write under the form's idempotency key). Who may close is the API's rule too (an
admin); the other staff read.
"""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from api.context import ADMINS, STAFF
from api.pages import PageDep, next_cursor
from api.routes.journal import periods_body, run_period_close
from api.routes.reports import run_close_reversal, run_year_close
from api.writes import form_write
from ledger.calendar import Period, check_fiscal_year, fiscal_year_bounds, fiscal_year_of, is_closed, period_of
from ledger.errors import LedgerError, Rejection
from store import books, year_end
from store.users import Principal
from web.forms import message
from web.i18n import N_
from web.routes import page_router
from web.session import page_role
from web.templating import render

router = page_router()
PageStaff = Annotated[Principal, Depends(page_role(STAFF))]
PageAdmin = Annotated[Principal, Depends(page_role(ADMINS))]
BookQuery = Annotated[int | None, Query(alias="book", gt=0, lt=2**62)]
YearQuery = Annotated[int | None, Query(alias="year", ge=2400, le=2800)]
PeriodText = Annotated[str, Form(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
FormText = Annotated[str, Form(max_length=600)]
DoneQuery = Annotated[str, Query(pattern=r"^(\d{4}-(0[1-9]|1[0-2])|FY\d{4})$")]  # what was just closed
YEARS_OFFERED = 6
MAX_REASON = 500
MONTHS_SHOWN = 24
REFUSALS = {
    Rejection.period_not_closable: N_("This month is closed already, with every month before it."),
    Rejection.reason_required: N_("Write why the close is reversed."),
    Rejection.period_closed: N_("The next fiscal year is closed: reverse its close first."),
    Rejection.idempotency_key_reused: N_("This form was sent before with other values. Reload the page and try again."),
}


@router.get("/office/periods")
def periods_page(request: Request, principal: PageStaff, page: PageDep, book_id: BookQuery = None,
                 year: YearQuery = None, closed: DoneQuery = "", reversed: DoneQuery = ""):  # fmt: skip
    today = request.app.state.clock.today()
    year = year or fiscal_year_of(today)
    check_fiscal_year(year)
    with request.app.state.db.read() as connection:
        book_list = books.list_books(connection, only_party=None, after=page.after, limit=page.limit)
        book = books.get_book(connection, book_id) if book_id else None
        shown = book and _year_of_book(connection, book, year, today)
    closed_month = _period(closed).start if closed and not closed.startswith("FY") else None
    return render(request, "periods.html", book_list=book_list, next_cursor=next_cursor(book_list, page),
                  book=book, year=year, years=_years_offered(today), shown=shown, closed=closed,
                  closed_month=closed_month,
                  reversed=reversed, may_close=principal.role in ADMINS)  # fmt: skip


def _years_offered(today) -> list[int]:
    current = fiscal_year_of(today)
    return [current - i for i in range(YEARS_OFFERED)]


def _year_of_book(connection, book: dict, year: int, today) -> dict:
    """The months of the year with their state, the year's close in force, and what blocks it."""
    closes = [c for c in year_end.list_closes(connection, book["id"]) if c["fiscal_year"] == year]
    in_force = next((c for c in closes if c["reversal"] is None), None)
    months = periods_body(year, book["closed_through"])
    blocking = [] if in_force else year_end.blockers(connection, book_id=book["id"], fiscal_year=year, today=today)
    return {"months": months, "close": in_force, "year_end": fiscal_year_bounds(year)[1], "blockers": blocking}


# --- closing a month -----------------------------------------------------------------------------


@router.get("/office/periods/close")
def month_close_page(request: Request, principal: PageAdmin, book_id: Annotated[int, Query(alias="book", gt=0)],
                     period: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]):  # fmt: skip
    """The check step: the months the close will lock, before anything is written."""
    return _month_form(request, book_id, _period(period), uuid.uuid4().hex, None)


@router.post("/office/periods/close")
def close_month(request: Request, principal: PageAdmin, book: Annotated[int, Form(gt=0, lt=2**62)],
                period: PeriodText, key: FormText = ""):  # fmt: skip
    chosen = _period(period)
    write = form_write(request, key or uuid.uuid4().hex, {"book_id": book, "period": chosen.name})
    try:
        run_period_close(request, write, principal, book, chosen)
    except LedgerError as error:
        return _month_form(request, book, chosen, key, _refusal(error))
    return RedirectResponse(f"/office/periods?book={book}&year={chosen.fiscal_year}&closed={chosen.name}", 303)


def _period(name: str) -> Period:
    return Period(int(name[:4]), int(name[5:]))


def _month_form(request: Request, book_id: int, period: Period, key: str, error: dict | None):
    with request.app.state.db.read() as connection:
        book = books.get_book(connection, book_id)
    return render(request, "period_close.html", 422 if error else 200, book=book, period=period,
                  closing=_months_closing(book["closed_through"], period), most=MONTHS_SHOWN, key=key,
                  error=error)  # fmt: skip


def _months_closing(closed_through, period: Period) -> list[Period]:
    """The open months up to `period` that its close locks with it, the last `MONTHS_SHOWN` of
    them (the page says so when there are more)."""
    months: list[Period] = []
    month = period
    while len(months) < MONTHS_SHOWN and not is_closed(month.end, closed_through):
        months.append(month)
        month = period_of(month.start - timedelta(days=1))
    return months[::-1]


# --- the year-end close and its reversal ---------------------------------------------------------


@router.get("/office/periods/year-end")
def year_close_page(request: Request, principal: PageStaff, book_id: Annotated[int, Query(alias="book", gt=0)],
                    year: Annotated[int, Query(ge=2400, le=2800)]):  # fmt: skip
    """The year's close: what blocks it, or the check step before it (an admin); once closed,
    the close and, for an admin, its reversal."""
    check_fiscal_year(year)
    return _year_form(request, principal, book_id, year, {"key": uuid.uuid4().hex, "reason": ""}, None)


@router.post("/office/periods/year-end")
def close_year(request: Request, principal: PageAdmin, book: Annotated[int, Form(gt=0, lt=2**62)],
               year: Annotated[int, Form(ge=2400, le=2800)], key: FormText = ""):  # fmt: skip
    check_fiscal_year(year)
    write = form_write(request, key or uuid.uuid4().hex, {"book_id": book, "fiscal_year": year})
    try:
        run_year_close(request, write, principal, book, year)
    except LedgerError as error:
        if error.reason != Rejection.period_not_closable:
            return _year_form(request, principal, book, year, {"key": key, "reason": ""}, _refusal(error))
        return _year_form(request, principal, book, year, {"key": key, "reason": ""}, None, status=422)
    return RedirectResponse(f"/office/periods?book={book}&year={year}&closed=FY{year}", 303)


@router.post("/office/periods/year-end/reversal")
def reverse_year_close(request: Request, principal: PageAdmin, book: Annotated[int, Form(gt=0, lt=2**62)],
                       year: Annotated[int, Form(ge=2400, le=2800)], reason: FormText = "",
                       key: FormText = ""):  # fmt: skip
    check_fiscal_year(year)
    typed = {"key": key, "reason": reason}
    if len(reason.strip()) > MAX_REASON:
        return _year_form(request, principal, book, year, typed, message(REFUSALS[Rejection.reason_required]))
    write = form_write(request, key or uuid.uuid4().hex, {"book_id": book, "fiscal_year": year,
                                                          "reason": reason.strip()})  # fmt: skip
    try:
        run_close_reversal(request, write, principal, book, year, reason.strip())
    except LedgerError as error:
        return _year_form(request, principal, book, year, typed, _refusal(error))
    return RedirectResponse(f"/office/periods?book={book}&year={year}&reversed=FY{year}", 303)


def _year_form(request: Request, principal: Principal, book_id: int, year: int, typed: dict, error: dict | None,
               status: int | None = None):  # fmt: skip
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        book = books.get_book(connection, book_id)
        shown = _year_of_book(connection, book, year, today)
    return render(request, "year_close.html", status or (422 if error else 200), book=book, year=year,
                  shown=shown, typed=typed, error=error, may_close=principal.role in ADMINS)  # fmt: skip


def _refusal(error: LedgerError) -> dict:
    """The API's refusal in the page's words; a refusal a form cannot cause is the error page's."""
    if error.reason not in REFUSALS:
        raise error
    return message(REFUSALS[error.reason])
