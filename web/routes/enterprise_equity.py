"""An enterprise's shares as the fund's staff see them: its cap table as of a date (with a chart
of each holder's share of the capital), its share register and classes, its distributions, and
declaring one, each holder's part shown before it is declared, and paying it.

The API's figures and writes: `equity.cap_table_as_of` (GET /v1/enterprises/{id}/cap-table),
`equity.register_rows`, `equity.list_share_classes`, `equity.list_distributions`; the preview is
`equity.distribution_parts`, the very function the declaration runs, and the declaration and the
payment post through the API's own routes (POST /v1/enterprises/{id}/distributions and
/distributions/{id}/payments) as the same audited write under the form's idempotency key.
"""

import json
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse

from api.context import REGISTRARS
from api.equity_schemas import DistributionCreate, DistributionPaymentCreate
from api.pages import PageDep, next_cursor
from api.routes import equity as api
from api.schemas import IdPath
from api.writes import form_write
from ledger.calendar import page_form
from ledger.errors import LedgerError, Rejection
from store import books, equity
from store.users import Principal
from web import chart
from web.forms import read_date
from web.i18n import N_
from web.office_form import FormField, OfficeForm, status_of, typed_of
from web.routes import page_router
from web.routes.investments import PageStaff
from web.session import page_role
from web.templating import render

router = page_router()
PageRegistrar = Annotated[Principal, Depends(page_role(REGISTRARS))]
DECLARATION = OfficeForm("declaration", N_("Declare a distribution of profit"), N_("Show each holder's part"), (
    FormField("period_start", "date", N_("First day of the period")),
    FormField("period_end", "date", N_("Last day of the period")),
    FormField("declared_on", "date", N_("Declared on")),
    FormField("net_profit", "amount", N_("Net profit of the period, in baht")),
    FormField("reserve_percent", "percent", N_("Share of the profit to the reserve, in percent"),
              N_("At least what the enterprise's policy asks; 10 in the cooperative model")),
    FormField("dividend_rate_percent", "percent", N_("Dividend, in percent a year on paid-up shares"),
              N_("Counted by the days each share was held in the period"), optional=True),
    FormField("dividend_amount", "amount", N_("Or: a dividend amount to share out, in baht"),
              N_("Leave the rate empty: the amount is shared by paid-up shares and the days they were held"),
              optional=True),
), {Rejection.dividend_rate_above_cap: "dividend_rate_percent", Rejection.reserve_below_minimum: "reserve_percent",
    Rejection.invalid_request: "dividend_rate_percent",
    Rejection.distribution_exceeds_profit: "net_profit", Rejection.distribution_period_taken: "period_start",
    Rejection.invalid_date_range: "declared_on", Rejection.period_closed: "declared_on"})  # fmt: skip
PAYMENT = OfficeForm("payment", N_("Pay the distribution"), N_("Record the payment"), (
    FormField("paid_on", "date", N_("Paid on")),), {Rejection.distribution_paid: "paid_on"})  # fmt: skip


@router.get("/office/enterprises/{party_id}/shares")
def shares(request: Request, principal: PageStaff, party_id: IdPath, page: PageDep,
           as_of: Annotated[str, Query(max_length=40)] = "", done: str = ""):  # fmt: skip
    today = request.app.state.clock.today()
    day, date_error = read_date(as_of) if as_of.strip() else (today, None)
    with request.app.state.db.read() as connection:
        enterprise = api.visible_enterprise(connection, party_id, principal)
        table = equity.cap_table_as_of(connection, party_id, day or today)["table"]
        names = {h.party_id: books.get_party(connection, h.party_id)["name_th"] for h in table.holders}
        register = equity.register_rows(connection, party_id, after=page.after, limit=page.limit)
        classes = equity.list_share_classes(connection, party_id)
        distributions = equity.list_distributions(connection, party_id)
        investments = equity.list_investments(connection, filters={"enterprise_party_id": party_id}, only_party=None)
    bars = chart.labelled_bars([(names[h.party_id], int(h.percent_of_capital * 100), f"{h.percent_of_capital:.2f} %")
                                for h in table.holders])  # fmt: skip
    return render(request, "enterprise_shares.html", 422 if date_error else 200, enterprise=enterprise,
                  table=table, names=names, day=day or today, as_of=as_of or page_form(today), date_error=date_error,
                  bars=bars, register=register, classes={c["id"]: c for c in classes},
                  register_cursor=next_cursor(register, page), distributions=distributions,
                  investments=investments, may_declare=principal.role in REGISTRARS, done=done[:20],
                  payment=PAYMENT.blank(paid_on=page_form(today)))  # fmt: skip


# --- a distribution: the form, the parts it would give, the declaration ---------------------------


@router.get("/office/enterprises/{party_id}/distributions/new")
def declaration_form(request: Request, principal: PageRegistrar, party_id: IdPath):
    typed = DECLARATION.blank(declared_on=page_form(request.app.state.clock.today()), reserve_percent="10")
    return _declaration_page(request, principal, party_id, typed, [])


@router.post("/office/enterprises/{party_id}/distributions/new")
async def preview(request: Request, principal: PageRegistrar, party_id: IdPath,
                  change: Annotated[str, Query(max_length=1)] = ""):  # fmt: skip
    """The check step: each holder's part, computed by the declaration's own function; nothing
    written. Or the form again, to change it."""
    typed = await typed_of(request, DECLARATION)
    body, errors = _body(typed)
    if errors or change:
        return _declaration_page(request, principal, party_id, typed, errors)
    try:
        with request.app.state.db.read() as connection:
            api.visible_enterprise(connection, party_id, principal)
            split = equity.distribution_parts(connection, party_id, api.declaration_of(body),
                                              declared_on=body.declared_on, today=request.app.state.clock.today())
            names = {p.party_id: books.get_party(connection, p.party_id)["name_th"] for p in split.parts}
    except LedgerError as error:
        return _declaration_page(request, principal, party_id, typed, [DECLARATION.refusal(error)], status_of(error))
    return render(request, "distribution_check.html", party_id=party_id, typed=typed, split=split, names=names,
                  body=body)  # fmt: skip


@router.post("/office/enterprises/{party_id}/distributions/save")
async def declare(request: Request, principal: PageRegistrar, party_id: IdPath):
    """The declaration: the API's route, under the form's key (a second tap declares nothing more)."""
    typed = await typed_of(request, DECLARATION)
    body, errors = _body(typed)
    if errors:
        return _declaration_page(request, principal, party_id, typed, errors)
    try:
        with request.app.state.db.read() as connection:
            api.visible_enterprise(connection, party_id, principal)
        write = form_write(request, typed["key"], {"party_id": party_id, **body.model_dump()})
        answer = api.declare(party_id, body, request, write, principal, request.app.state.clock)
    except LedgerError as error:
        return _declaration_page(request, principal, party_id, typed, [DECLARATION.refusal(error)], status_of(error))
    return RedirectResponse(f"/office/enterprises/{party_id}/shares?done=declared#distribution-"
                            f"{json.loads(answer.body)['id']}", 303)  # fmt: skip


def _body(typed: dict) -> tuple[DistributionCreate | None, list]:
    values, errors = DECLARATION.read(typed)
    if errors:
        return None, errors
    return DistributionCreate.model_validate(DECLARATION.api_values(values)), []


def _declaration_page(request: Request, principal: Principal, party_id: int, typed: dict, errors: list,
                      status: int | None = None):  # fmt: skip
    with request.app.state.db.read() as connection:
        enterprise = api.visible_enterprise(connection, party_id, principal)
    return render(request, "distribution_form.html", status or (422 if errors else 200), enterprise=enterprise,
                  form=DECLARATION, typed=typed, errors=errors,
                  action=f"/office/enterprises/{party_id}/distributions/new")  # fmt: skip


@router.post("/office/enterprises/{party_id}/distributions/{distribution_id}/payments")
async def pay(request: Request, principal: PageRegistrar, party_id: IdPath, distribution_id: IdPath):
    """Paying every part not yet paid: the API's route, under the form's key."""
    typed = await typed_of(request, PAYMENT)
    values, errors = PAYMENT.read(typed)
    try:
        if errors:
            raise LedgerError(Rejection.invalid_request, "the date of the payment could not be read")
        body = DistributionPaymentCreate.model_validate(PAYMENT.api_values(values))
        with request.app.state.db.read() as connection:
            api.visible_enterprise(connection, party_id, principal)
        write = form_write(request, typed["key"], {"distribution_id": distribution_id, **body.model_dump()})
        api.pay(party_id, distribution_id, body, request, write, principal, request.app.state.clock)
    except LedgerError as error:
        errors = errors or [PAYMENT.refusal(error)]
        return render(request, "distribution_payment.html", status_of(error), party_id=party_id,
                      distribution_id=distribution_id, form=PAYMENT, typed=typed, errors=errors,
                      action=f"/office/enterprises/{party_id}/distributions/{distribution_id}/payments")  # fmt: skip
    return RedirectResponse(f"/office/enterprises/{party_id}/shares?done=paid", 303)

