"""An enterprise's sales: the list by month (a page at a time, as the API pages), a chart of the
fiscal year, recording a sale (the form, a check step with the contribution it will take, the
save) and reversing a mistaken one (a confirmation with a reason).

Every figure and write is the API's: `welfare.list_sales` (GET /v1/sales), the sale's own
contribution step `welfare.contribution_preview` (what POST /v1/sales would take, nothing
written), `run_sale` and `run_sale_reversal` (POST /v1/sales, POST /v1/sales/{id}/reversal:
the same audited write under the form's idempotency key), `welfare.enterprise_summary` by month
(GET /v1/enterprises/{id}/sales-summary). Who may record and reverse is the API's rule too
(JOURNAL_WRITERS, and an enterprise its own sales only).
"""

import json
from datetime import date, timedelta
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse

from api.context import JOURNAL_WRITERS
from api.pages import PageDep, next_cursor
from api.routes.welfare import check_sale, own, run_sale, run_sale_reversal, visible_sale
from api.schemas import IdPath
from api.writes import form_write
from ledger.calendar import Period, fiscal_year_of, page_form, period_of, periods_of_fiscal_year
from ledger.errors import LedgerError, Rejection
from store import books, equity, welfare
from store.users import Principal
from web import chart, sale_form
from web.enterprise import EnterpriseId
from web.forms import message
from web.i18n import N_
from web.routes import page_router
from web.sale_form import Typed
from web.session import PageJournalWriter, PagePrincipal
from web.templating import render

router = page_router()
MONTHS_OFFERED = 24
MonthQuery = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
MAX_REASON = 500
FormText = Annotated[str, Form(max_length=600)]
CHART_SERIES = {"sales": N_("Sales by month"), "contributions": N_("Welfare contributions by month")}
REVERSAL_REFUSALS = {
    Rejection.already_reversed: N_("This sale is reversed already."),
    Rejection.period_closed: N_("The books are closed for today's date. Ask the fund's officer."),
}


@router.get("/sales")
def sales(request: Request, principal: PagePrincipal, enterprise_id: EnterpriseId, page: PageDep,
          month: MonthQuery = None):  # fmt: skip
    today = request.app.state.clock.today()
    chosen = Period(int(month[:4]), int(month[5:])) if month else None
    filters = {"enterprise_party_id": enterprise_id, "date_from": chosen and chosen.start,
               "date_to": chosen and chosen.end}  # fmt: skip
    with request.app.state.db.read() as connection:
        rows = welfare.list_sales(connection, filters=filters, only_party=principal.party_id, after=page.after,
                                  limit=page.limit)  # fmt: skip
        months = equity.enterprise_book(connection, enterprise_id) and _by_month(connection, enterprise_id, today)
    return render(request, "sales.html", enterprise_id=enterprise_id, sales=rows, month=month,
                  next_cursor=next_cursor(rows, page), months_offered=_months_offered(today),
                  may_write=principal.role in JOURNAL_WRITERS, fiscal_year=fiscal_year_of(today),
                  charts=months and _charts(months), months=months, channels=dict(sale_form.CHANNELS))  # fmt: skip


def _months_offered(today: date) -> list[Period]:
    """The months to pick from, this one first, back over two years."""
    offered = [period_of(today)]
    while len(offered) < MONTHS_OFFERED:
        offered.append(period_of(offered[-1].start - timedelta(days=1)))
    return offered


def _by_month(connection, party_id: int, today: date) -> list[dict]:
    """This fiscal year's sales and contributions by month, to today (the API's sales summary)."""
    months = []
    for period in periods_of_fiscal_year(fiscal_year_of(today)):
        if period.start > today:
            break
        by_fund = welfare.enterprise_summary(connection, party_id, period.start, min(period.end, today))["by_fund"]
        months.append({"start": period.start, "sales_satang": sum(r["sales_satang"] for r in by_fund),
                       "contributions_satang": sum(r["contributions_satang"] for r in by_fund)})  # fmt: skip
    return months


def _charts(months: list[dict]) -> list[chart.MonthChart]:
    """Sales, and welfare contributions, each on its own scale: a contribution is a small share
    of a sale, and would hardly show beside it."""
    return [chart.of_months(months, {name: label}) for name, label in CHART_SERIES.items()]


# --- recording a sale ----------------------------------------------------------------------------


@router.get("/sales/new")
def sale_form_page(request: Request, principal: PageJournalWriter, enterprise_id: EnterpriseId):
    typed = sale_form.blank(page_form(request.app.state.clock.today()))
    return _form(request, enterprise_id, typed, [])


@router.post("/sales/new")
def check_sale_page(request: Request, principal: PageJournalWriter, enterprise_id: EnterpriseId, typed: Typed,
                    change: Annotated[str, Query(max_length=1)] = ""):  # fmt: skip
    """The check step: what the page understood and the contribution the rule in force will take
    (nothing written); or the form again, to change it or put it right."""
    sale, errors = sale_form.read(typed, enterprise_id)
    if change or errors:
        return _form(request, enterprise_id, typed, errors)
    try:
        with request.app.state.db.read() as connection:
            check_sale(principal, sale, request.app.state.clock.today())
            rule, contribution = welfare.contribution_preview(connection, sale)
            fund = rule and books.get_party(connection, rule.fund_party_id)
    except LedgerError as error:
        return _refused(request, enterprise_id, typed, error)
    return render(request, "sale_check.html", enterprise_id=enterprise_id, typed=typed, sale=sale, rule=rule,
                  contribution_satang=contribution, fund=fund, channels=dict(sale_form.CHANNELS))  # fmt: skip


@router.post("/sales/save")
def save_sale(request: Request, principal: PageJournalWriter, enterprise_id: EnterpriseId, typed: Typed):
    """The save: the API's audited write under the form's key, so a second tap records nothing more."""
    sale, errors = sale_form.read(typed, enterprise_id)
    if errors:
        return _form(request, enterprise_id, typed, errors)
    try:
        check_sale(principal, sale, request.app.state.clock.today())
        write = form_write(request, typed["key"] or None, sale_form.write_fields(sale))
        answer = run_sale(request, write, principal, sale)
    except LedgerError as error:
        return _refused(request, enterprise_id, typed, error)
    return RedirectResponse(f"/sales/{json.loads(answer.body)['id']}?saved=1", 303)


def _form(request: Request, enterprise_id: int, typed: dict, errors: list, status: int | None = None):
    status = status or (422 if errors else 200)
    return render(request, "sale_form.html", status, enterprise_id=enterprise_id, typed=typed,
                  errors=errors, error_of=dict(errors), channels=sale_form.CHANNELS,
                  line_count=sale_form.LINE_COUNT)  # fmt: skip


def _refused(request: Request, enterprise_id: int, typed: dict, error: LedgerError):
    found = sale_form.refusal(error)
    if found is None:
        raise error
    status = 409 if error.reason == Rejection.idempotency_key_reused else 422
    return _form(request, enterprise_id, typed, [found], status)


# --- one sale, and its reversal ------------------------------------------------------------------


@router.get("/sales/{sale_id}")
def sale_page(request: Request, principal: PagePrincipal, sale_id: IdPath, saved: bool = False,
              reversed: bool = False):  # fmt: skip
    with request.app.state.db.read() as connection:
        sale = visible_sale(connection, sale_id, principal)
    return render(request, "sale.html", enterprise_id=sale["enterprise_party_id"], sale=sale, saved=saved,
                  reversed=reversed, may_reverse=_may_reverse(principal, sale),
                  channels=dict(sale_form.CHANNELS))  # fmt: skip


@router.get("/sales/{sale_id}/reversal")
def reversal_page(request: Request, principal: PageJournalWriter, sale_id: IdPath):
    sale = _own_sale(request, principal, sale_id)
    return _reversal_form(request, sale, {"reason": "", "key": sale_form.blank("")["key"]}, None)


@router.post("/sales/{sale_id}/reversal")
def reverse(request: Request, principal: PageJournalWriter, sale_id: IdPath, reason: FormText = "",
            key: FormText = ""):  # fmt: skip
    """The reversal, dated today: the API's audited write under the form's key."""
    sale = _own_sale(request, principal, sale_id)
    typed = {"reason": reason, "key": key}
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        return _reversal_form(request, sale, typed, message(N_("Write why the sale is reversed.")))
    on = request.app.state.clock.today()
    write = form_write(request, key or None, {"sale_id": sale_id, "on": on, "reason": reason})
    try:
        run_sale_reversal(request, write, principal, sale_id, on=on, reason=reason)
    except LedgerError as error:
        if error.reason not in REVERSAL_REFUSALS:
            raise
        return _reversal_form(request, sale, typed, message(REVERSAL_REFUSALS[error.reason]))
    return RedirectResponse(f"/sales/{sale_id}?reversed=1", 303)


def _own_sale(request: Request, principal: Principal, sale_id: int) -> dict:
    """A sale the principal may reverse: the API's rule (seen, and its enterprise's own)."""
    with request.app.state.db.read() as connection:
        sale = visible_sale(connection, sale_id, principal)
    own(principal, sale["enterprise_party_id"], "sale")
    return sale


def _may_reverse(principal: Principal, sale: dict) -> bool:
    return (sale["reversal"] is None and principal.role in JOURNAL_WRITERS
            and principal.party_id in (None, sale["enterprise_party_id"]))  # fmt: skip


def _reversal_form(request: Request, sale: dict, typed: dict, error: dict | None):
    return render(request, "sale_reversal.html", 422 if error else 200, enterprise_id=sale["enterprise_party_id"],
                  sale=sale, typed=typed, error=error, channels=dict(sale_form.CHANNELS))  # fmt: skip
