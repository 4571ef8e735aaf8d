"""The fund office's pages (officers, approvers and admins): the dashboard at /office and close
of business at /office/close-of-business.

The dashboard's figures are `store.dashboard`'s: the portfolio by Bank of Thailand class and
days-past-due bucket as the latest close of business left it (equal to GET /v1/portfolio for
that day), PAR30 and PAR90 by month over a fiscal year, the instalments falling due in the next
7 and 30 days, the loans in arrears (the most days past due first), what waits for approval,
and whether today's close of business has run; cut by the borrower's region, province,
incubation centre and programme.

Close of business is the API's audited write (POST /v1/close-of-business: admins only), run in
a thread of the server (`web.cob_runs`) so that a long run shows its progress.
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from api.context import ADMINS, APPROVERS, LOAN_OFFICERS
from api.writes import form_write
from ledger.calendar import check_fiscal_year, fiscal_year_bounds, fiscal_year_of, page_form, periods_of_fiscal_year
from ledger.errors import LedgerError, Rejection
from ledger.loans import DEFAULT_AGEING_BOUNDS, LoanClass, ageing_bucket
from ledger.money import format_amount
from ledger.parties import REGION_LABELS
from store import dashboard
from store.dashboard import LoanFilter
from store.users import Principal
from web import chart
from web.cob_runs import CobRuns
from web.forms import message, read_date
from web.i18n import N_, language_of, translations
from web.routes import page_router
from web.session import page_role
from web.templating import render

router = page_router()
OFFICE = LOAN_OFFICERS | APPROVERS
OfficeStaff = Annotated[Principal, Depends(page_role(OFFICE))]
ARREARS_PER_PAGE = 25
MAX_PAGE = 400
DUE_SPANS = (7, 30)
FilterText = Annotated[str | None, Query(max_length=80)]
CLASS_NAMES = {
    LoanClass.pass_: N_("Pass"),
    LoanClass.special_mention: N_("Special mention"),
    LoanClass.substandard: N_("Substandard"),
    LoanClass.doubtful: N_("Doubtful"),
    LoanClass.doubtful_of_loss: N_("Doubtful of loss"),
}
BUCKET_NAMES = {
    "current": N_("Not overdue"), "1-30": N_("1-30 days"), "31-90": N_("31-90 days"), "91-180": N_("91-180 days"),
    "181-365": N_("181-365 days"), "over 365": N_("Over 365 days"),
}  # fmt: skip
AT_RISK_SERIES = {"over_30": N_("More than 30 days past due"), "over_90": N_("More than 90 days past due")}
COB_REFUSALS = {
    Rejection.date_in_future: N_("This day has not come yet. Close a day up to today."),
    Rejection.period_closed: N_("The books are closed for this day. Choose a later day."),
    Rejection.idempotency_key_reused: N_("This form was sent already with another day. Open the page again."),
}


def cob_runs(request: Request) -> CobRuns:
    """The runs of this server, made when first needed."""
    if not hasattr(request.app.state, "cob_runs"):
        request.app.state.cob_runs = CobRuns()
    return request.app.state.cob_runs


# --- the dashboard ------------------------------------------------------------------------------


@router.get("/office")
def office_dashboard(request: Request, principal: OfficeStaff, region: FilterText = None, province: FilterText = None,
                     centre: FilterText = None, programme: FilterText = None,
                     fiscal_year: Annotated[int | None, Query()] = None,
                     page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1):  # fmt: skip
    today = request.app.state.clock.today()
    year = fiscal_year or fiscal_year_of(today)
    check_fiscal_year(year)
    chosen = LoanFilter(region or None, province or None, centre or None, programme or None)
    with request.app.state.db.read() as connection:
        dashboard.check_filter(connection, chosen)
        closed_on = dashboard.last_closed_day(connection)
        figures = _figures(connection, closed_on, chosen, page)
        months = _months(dashboard.at_risk_by_month(connection, *_year_months(year), chosen), year, today)
        due = [dashboard.falling_due(connection, today + timedelta(days=1), today + timedelta(days=n), chosen)
               for n in DUE_SPANS]  # fmt: skip
        waiting, choices = dashboard.pending(connection), dashboard.filter_choices(connection)
    lang = language_of(request)
    text = translations(lang)
    charts = {f"{name}_chart": _bars(figures[name], text) for name in ("classes", "buckets")}
    region_names = {region.value: label.in_language(lang) for region, label in REGION_LABELS.items()}
    return render(request, "office_dashboard.html", today=today, closed_on=closed_on, chosen=chosen, fiscal_year=year,
                  years=range(fiscal_year_of(today), fiscal_year_of(today) - 6, -1), months=months,
                  at_risk_chart=_at_risk_chart(months), due=due, pending=waiting, choices=choices,
                  page=page, filter_query=_query(chosen, year), region_names=region_names, **figures,
                  **charts)  # fmt: skip


def _query(chosen: LoanFilter, year: int) -> str:
    """The dashboard's choices as a query string, for the links to its other pages."""
    values = {cut.dimension: cut.value for cut in chosen.cuts()}
    return urlencode({**values, "fiscal_year": year})


def _figures(connection, closed_on: date | None, chosen: LoanFilter, page: int) -> dict:
    """The portfolio of the latest close of business by class and by bucket, and a page of its
    loans in arrears."""
    if closed_on is None:
        return {"portfolio": None, "classes": [], "buckets": [], "arrears": [], "more_arrears": False}
    portfolio = dashboard.portfolio_as_closed(connection, closed_on, chosen)
    arrears = dashboard.loans_in_arrears(connection, closed_on, chosen, offset=(page - 1) * ARREARS_PER_PAGE,
                                         limit=ARREARS_PER_PAGE + 1)  # fmt: skip
    classes = [(CLASS_NAMES[c], *_line(portfolio, "class", c.value)) for c in LoanClass]
    bucket_keys = [ageing_bucket(lower, DEFAULT_AGEING_BOUNDS) for lower in (0, *DEFAULT_AGEING_BOUNDS)]
    buckets = [(BUCKET_NAMES[key], *_line(portfolio, "bucket", key)) for key in bucket_keys]
    return {"portfolio": portfolio, "classes": classes, "buckets": buckets, "arrears": arrears[:ARREARS_PER_PAGE],
            "more_arrears": len(arrears) > ARREARS_PER_PAGE}  # fmt: skip


def _bars(rows: list[tuple[str, int, int]], text) -> chart.BarList:
    """A bar for each (name, satang, count) line, its name in the person's language."""
    return chart.labelled_bars([(text.gettext(name), satang, format_amount(satang, grouped=True))
                                for name, satang, _ in rows])  # fmt: skip


def _line(portfolio, group: str, key: str) -> tuple[int, int]:
    line = portfolio.groups.get(group, {}).get(key)
    return (line.outstanding_satang, line.count) if line else (0, 0)


def _year_months(year: int) -> tuple[date, date]:
    first, last = fiscal_year_bounds(year)
    return first, last.replace(day=1)


@dataclass(frozen=True)
class MonthShown:
    """A month of the fiscal year on the page: its PAR if a close of business reached it."""

    start: date
    at_risk: dashboard.MonthAtRisk | None

    @property
    def over_30_satang(self) -> int:
        return self.at_risk.over_30_satang if self.at_risk else 0

    @property
    def over_90_satang(self) -> int:
        return self.at_risk.over_90_satang if self.at_risk else 0


def _at_risk_chart(months: list[MonthShown]) -> chart.MonthChart:
    figures = [{"start": m.start, "over_30_satang": m.over_30_satang, "over_90_satang": m.over_90_satang}
               for m in months]  # fmt: skip
    return chart.of_months(figures, AT_RISK_SERIES)


def _months(found: list[dashboard.MonthAtRisk], year: int, today: date) -> list[MonthShown]:
    """The fiscal year's months up to this one, each with what close of business found."""
    by_start = {m.start: m for m in found}
    return [MonthShown(p.start, by_start.get(p.start)) for p in periods_of_fiscal_year(year) if p.start <= today]


# --- close of business --------------------------------------------------------------------------


@router.get("/office/close-of-business")
def cob_page(request: Request, principal: OfficeStaff):
    typed = {"day": page_form(request.app.state.clock.today()), "key": uuid.uuid4().hex}
    return _cob_form(request, principal, typed, None)


@router.post("/office/close-of-business")
def start_cob(request: Request, principal: OfficeStaff, day: Annotated[str, Form(max_length=40)] = "",
              key: Annotated[str, Form(max_length=200)] = ""):  # fmt: skip
    """Run close of business for the day typed: the API's write, for admins as the API allows."""
    if principal.role not in ADMINS:
        return _cob_form(request, principal, {"day": day, "key": key}, None, 403)
    chosen, error = read_date(day)
    if error:
        return _cob_form(request, principal, {"day": day, "key": key}, error)
    write = form_write(request, key or uuid.uuid4().hex, {"day": chosen})
    run = cob_runs(request).start(request, write, principal, chosen)
    if run.refusal is not None and run.refusal.reason in COB_REFUSALS:
        return _cob_form(request, principal, {"day": day, "key": key}, message(COB_REFUSALS[run.refusal.reason]))
    return RedirectResponse(f"/office/close-of-business/runs/{run.id}", 303)


def _cob_form(request: Request, principal: Principal, typed: dict, error: dict | None, status: int | None = None):
    with request.app.state.db.read() as connection:
        closed_on = dashboard.last_closed_day(connection)
    return render(request, "office_cob.html", status or (422 if error else 200), typed=typed, error=error,
                  may_run=principal.role in ADMINS, closed_on=closed_on, today=request.app.state.clock.today(),
                  runs=cob_runs(request).recent())  # fmt: skip


RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.get("/office/close-of-business/runs/{run_id}")
def cob_run_page(request: Request, principal: OfficeStaff, run_id: RunId):
    return render(request, "office_cob_run.html", run=_run(request, run_id), refusals=COB_REFUSALS)


@router.get("/office/close-of-business/runs/{run_id}/status")
def cob_run_status(request: Request, principal: OfficeStaff, run_id: RunId):
    """The run's progress or result alone: what the run page polls with htmx."""
    return render(request, "_cob_status.html", run=_run(request, run_id), refusals=COB_REFUSALS)


def _run(request: Request, run_id: str):
    run = cob_runs(request).get(run_id)
    if run is None:
        raise LedgerError(Rejection.not_found, f"close of business run {run_id} is not known to this server")
    return run
