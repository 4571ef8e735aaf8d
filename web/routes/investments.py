"""The fund officer's co-investment pages: the fund's investments by region, province and centre
(filtered, a page at a time, with totals), one investment with its statement, the purchases
waiting for a second person's approval, and the forms that move an investment (a further
purchase, an impairment and its reversal, an exit to one buyer or to several at once, the exit
plan).

Every figure and write is the API's: `equity.list_investments` and `equity.figures_of` with the
API's group totals (GET /v1/investments?group_by=...), its statement's events and positions
(GET /v1/investments/{id}/statement), and each form posts through the API's own route function
(POST /v1/investments/{id}/purchases, /approval, /impairments, /impairment-reversals, /exits,
/exit-plan) as the same audited write under the form's idempotency key. Who may do what is the
API's rule: officers buy and exit, approvers impair and approve, never the maker of a purchase.
"""

import json
from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from api.context import APPROVERS, LOAN_OFFICERS, STAFF
from api.equity_schemas import ExitCreate, ExitPlanCreate, ImpairmentCreate, PurchaseCreate
from api.pages import PageDep, next_cursor
from api.routes import equity as api
from api.schemas import IdPath, Region
from api.writes import form_write
from ledger.calendar import page_form
from ledger.errors import LedgerError, Rejection
from store import equity
from store.users import Principal
from web.forms import message
from web.i18n import N_
from web.office_form import FormField, OfficeForm, status_of, typed_of
from web.routes import page_router
from web.session import page_role
from web.templating import render

router = page_router()
PageStaff = Annotated[Principal, Depends(page_role(STAFF))]
FormText = Annotated[str, Form(max_length=200)]
PageApprover = Annotated[Principal, Depends(page_role(APPROVERS))]
GROUPINGS = {"region": N_("Region"), "province": N_("Province"), "centre": N_("Incubation centre")}
STATUSES = {"pending": N_("Waiting for approval"), "active": N_("Held"), "exited": N_("Exited")}
DATE_REFUSALS = {Rejection.date_in_future: "effective_date", Rejection.period_closed: "effective_date",
                 Rejection.date_before_last_transaction: "effective_date"}  # fmt: skip

SHARES = FormField("shares", "whole", N_("Number of shares"))
ON = FormField("effective_date", "date", N_("Date"))
REASON = FormField("reason", "text", N_("Reason"), N_("What happened to the enterprise, in plain words"))


class Action(BaseModel, arbitrary_types_allowed=True):
    """A form that moves an investment: who may send it, and the API route it posts through;
    `wire` turns the form's API values into the route's body (default: as they are) or names
    the fields that do not go together."""

    form: OfficeForm
    roles: frozenset[str]
    body: type[BaseModel]
    route: object  # the API's route function
    wire: object = None  # (api values) -> (body, errors)


PRICE_RULES = {"cost": N_("What the fund paid"), "par": N_("Par value"), "carrying_amount": N_("Carrying amount"),
               "fixed": N_("A fixed price per share"),
               "par_plus_retained": N_("Par plus the enterprise's retained earnings per share")}  # fmt: skip
FORM_BUYERS = 3  # rows of the several-buyers exit; more buyers at once go through the API


def _buyer_fields(number: int) -> tuple[FormField, ...]:
    party, shares, price = BUYER_LABELS[number - 1]
    return (FormField(f"buyer_{number}_party_id", "party", party, N_("Empty: the enterprise buys them back"),
                      optional=True),
            FormField(f"buyer_{number}_shares", "whole", shares, optional=True),
            FormField(f"buyer_{number}_price", "amount", price, optional=True))  # fmt: skip


BUYER_LABELS = (
    (N_("Buyer 1: party number"), N_("Buyer 1: number of shares"), N_("Buyer 1: what it pays, in baht")),
    (N_("Buyer 2: party number"), N_("Buyer 2: number of shares"), N_("Buyer 2: what it pays, in baht")),
    (N_("Buyer 3: party number"), N_("Buyer 3: number of shares"), N_("Buyer 3: what it pays, in baht")),
)


def buyers_body(values: dict) -> tuple[dict, list]:
    """The API's exit body from the rows filled in: each row with shares and a price is a buyer;
    a row with one and not the other, or no row at all, is named."""
    buyers, errors = [], []
    for number in range(1, FORM_BUYERS + 1):
        party, shares, price = (values.get(f"buyer_{number}_{part}") for part in ("party_id", "shares", "price"))
        if shares is None and price is None and party is None:
            continue
        if shares is None or price is None:
            where = f"buyer_{number}_shares" if shares is None else f"buyer_{number}_price"
            errors.append((where, message(N_("Give each buyer both a number of shares and a price."))))
            continue
        buyers.append({"buyer_party_id": party, "shares": shares, "price": price})
    if not buyers and not errors:
        errors.append(("buyer_1_shares", message(N_("Give at least one buyer a number of shares and a price."))))
    return {"effective_date": values["effective_date"], "buyers": buyers}, errors


ACTIONS = {
    "purchase": Action(form=OfficeForm("purchase", N_("Buy more shares"), N_("Record the purchase"), (
        SHARES, FormField("price", "amount", N_("Price of all the shares, in baht"),
                          N_("Above the approval threshold the purchase waits for an approver")), ON),
        {**DATE_REFUSALS, Rejection.investment_purchase_pending: "shares"}),
        roles=LOAN_OFFICERS, body=PurchaseCreate, route=api.add_purchase),
    "impairment": Action(form=OfficeForm("impairment", N_("Impair the investment"), N_("Record the impairment"), (
        FormField("amount", "amount", N_("Impairment, in baht")), ON, REASON), DATE_REFUSALS),
        roles=APPROVERS, body=ImpairmentCreate, route=api.impair),
    "impairment-reversal": Action(form=OfficeForm("impairment-reversal", N_("Reverse an impairment"),
        N_("Record the reversal"), (FormField("amount", "amount", N_("Amount reversed, in baht")), ON, REASON),
        DATE_REFUSALS), roles=APPROVERS, body=ImpairmentCreate, route=api.reverse_impairment),
    "exit": Action(form=OfficeForm("exit", N_("Sell shares (exit)"), N_("Record the sale of shares"), (
        SHARES, FormField("price", "amount", N_("What the buyer pays for all of them, in baht")), ON,
        FormField("buyer_party_id", "party", N_("Buyer's party number"),
                  N_("Leave empty when the enterprise buys its shares back"), optional=True)),
        {**DATE_REFUSALS, Rejection.insufficient_shares: "shares", Rejection.not_found: "buyer_party_id"}),
        roles=LOAN_OFFICERS, body=ExitCreate, route=api.exit_investment),
    "exit-buyers": Action(form=OfficeForm("exit-buyers", N_("Sell shares to several buyers at once"),
        N_("Record the sale to all of them"), (ON, *(f for n in range(1, FORM_BUYERS + 1) for f in _buyer_fields(n))),
        {**DATE_REFUSALS, Rejection.insufficient_shares: "buyer_1_shares", Rejection.not_found: "buyer_1_party_id",
         Rejection.invalid_request: "buyer_1_party_id", Rejection.holder_cap_exceeded: "buyer_1_party_id"}),
        roles=LOAN_OFFICERS, body=ExitCreate, route=api.exit_investment, wire=buyers_body),
    "exit-plan": Action(form=OfficeForm("exit-plan", N_("Plan the exit"), N_("Keep the plan"), (
        FormField("target_date", "date", N_("Target date")),
        FormField("price_rule", "choice", N_("Price rule"), options=tuple(PRICE_RULES.items())),
        FormField("price_per_share", "amount", N_("Fixed price per share, in baht"), optional=True),
        FormField("note", "text", N_("Note"), optional=True)), {Rejection.amount_must_be_positive: "price_per_share",
                                                               Rejection.invalid_request: "price_rule"}),
        roles=LOAN_OFFICERS, body=ExitPlanCreate, route=api.set_exit_plan),
}  # fmt: skip


# --- the list, and its totals --------------------------------------------------------------------


@router.get("/office/investments")
def investments(
    request: Request, principal: PageStaff, page: PageDep, region: Region | None = None,
    province: Annotated[str | None, Query(max_length=80)] = None, centre_id: Annotated[int | None, Query(ge=1)] = None,
    status: Annotated[str | None, Query(pattern="^(pending|active|exited)$")] = None,
    group_by: Annotated[str, Query(pattern="^(region|province|centre)$")] = "region",
):  # fmt: skip
    today = request.app.state.clock.today()
    province = (province or "").strip() or None
    filters = {"region": region, "province": province, "centre_id": centre_id, "status": status}
    with request.app.state.db.read() as connection:
        rows = equity.list_investments(connection, filters=filters, only_party=None, after=page.after,
                                       limit=page.limit)  # fmt: skip
        every = equity.list_investments(connection, filters=filters, only_party=None)
        figures = equity.figures_of(connection, every, today)
        groups = api.investment_groups(figures, every, group_by)
    return render(request, "investments.html", rows=[(row, figures[row["id"]]) for row in rows], groups=groups,
                  filters={**filters, "region": region and region.value}, group_by=group_by, groupings=GROUPINGS,
                  regions=[r.value for r in Region], statuses=STATUSES, today=today,
                  next_cursor=next_cursor(rows, page))  # fmt: skip


@router.get("/office/investments/approvals")
def approvals(request: Request, principal: PageStaff, page: PageDep, done: str = ""):
    """Purchases waiting for a second person: every investment with a pending purchase."""
    with request.app.state.db.read() as connection:
        rows = equity.list_investments(connection, filters={}, only_party=None, after=page.after, limit=page.limit)
        waiting = [(row, pending) for row in rows if (pending := equity.pending_purchase(connection, row["id"]))]
    return render(request, "investment_approvals.html", waiting=waiting, may_approve=principal.role in APPROVERS,
                  done=done == "approval", key=OfficeForm("approval", "", "", ()).blank()["key"],
                  next_cursor=next_cursor(rows, page))  # fmt: skip


# --- one investment ------------------------------------------------------------------------------


@router.get("/office/investments/{investment_id}")
def investment(request: Request, principal: PageStaff, investment_id: IdPath, done: str = ""):
    return _investment_page(request, principal, investment_id, done=done[:30])


def _investment_page(request: Request, principal: Principal, investment_id: int, *, done: str = "",
                     approval_error: dict | None = None, status: int = 200):  # fmt: skip
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        row = api.visible_investment(connection, investment_id, principal)
        figures = equity.figures_of(connection, [row], today)[investment_id]
        pending = equity.pending_purchase(connection, investment_id)
        lines = api.events_with_positions(connection, investment_id)
        threshold = equity.approval_threshold(connection, row["book_id"])
    actions = [(name, a.form.heading) for name, a in ACTIONS.items() if principal.role in a.roles]
    return render(request, "investment.html", status, investment=row, figures=figures, pending=pending, lines=lines,
                  price_rules=PRICE_RULES,
                  threshold_satang=threshold, today=today, actions=actions, done=done,
                  may_approve=principal.role in APPROVERS, approval_error=approval_error,
                  approval_key=OfficeForm("approval", "", "", ()).blank()["key"])  # fmt: skip


@router.post("/office/investments/{investment_id}/approval")
def approve(request: Request, principal: PageApprover, investment_id: IdPath, key: FormText = "",
            back: FormText = ""):  # fmt: skip
    """The approval: the API's route, under the button's key; the maker is refused, with the reason."""
    with request.app.state.db.read() as connection:
        api.visible_investment(connection, investment_id, principal)
    try:
        api.approve(investment_id, request, form_write(request, key, {"investment_id": investment_id}), principal,
                    request.app.state.clock)  # fmt: skip
    except LedgerError as error:
        if error.reason == Rejection.not_found:
            raise
        refusal = OfficeForm("approval", "", "", ()).refusal(error)[1]
        return _investment_page(request, principal, investment_id, approval_error=refusal, status=status_of(error))
    where = "/office/investments/approvals" if back == "approvals" else f"/office/investments/{investment_id}"
    return RedirectResponse(f"{where}?done=approval", 303)


# --- the forms that move it ----------------------------------------------------------------------


def _action(name: str, principal: Principal) -> Action:
    action = ACTIONS.get(name)
    if action is None:
        raise LedgerError(Rejection.not_found, f"no form {name}")
    if principal.role not in action.roles:
        raise LedgerError(Rejection.forbidden, f"role {principal.role} may not do this")
    return action


@router.get("/office/investments/{investment_id}/{name}")
def action_form(request: Request, principal: PageStaff, investment_id: IdPath, name: str):
    action = _action(name, principal)
    today = request.app.state.clock.today()
    typed = action.form.blank(**{f.name: page_form(today) for f in action.form.fields if f.name == "effective_date"})
    return _action_page(request, principal, investment_id, action, typed, [])


@router.post("/office/investments/{investment_id}/{name}")
async def post_action(request: Request, principal: PageStaff, investment_id: IdPath, name: str):
    action = _action(name, principal)
    typed = await typed_of(request, action.form)
    values, errors = action.form.read(typed)
    payload = action.form.api_values(values)
    if not errors and action.wire is not None:
        payload, errors = action.wire(payload)
    if errors:
        return _action_page(request, principal, investment_id, action, typed, errors)
    body = action.body.model_validate(payload)
    try:
        with request.app.state.db.read() as connection:
            api.visible_investment(connection, investment_id, principal)
        write = form_write(request, typed["key"], {"investment_id": investment_id, **body.model_dump()})
        answer = action.route(investment_id, body, request, write, principal, request.app.state.clock)
    except LedgerError as error:
        if error.reason in (Rejection.not_found, Rejection.forbidden) and error.reason not in action.form.refusals:
            raise
        return _action_page(request, principal, investment_id, action, typed, [action.form.refusal(error)],
                            status_of(error))  # fmt: skip
    pending = json.loads(answer.body)["pending_purchase"]
    done = "pending" if name == "purchase" and pending else name
    return RedirectResponse(f"/office/investments/{investment_id}?done={done}", 303)


def _action_page(request: Request, principal: Principal, investment_id: int, action: Action, typed: dict,
                 errors: list, status: int | None = None):  # fmt: skip
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        row = api.visible_investment(connection, investment_id, principal)
        figures = equity.figures_of(connection, [row], today)[investment_id]
    return render(request, "investment_action.html", status or (422 if errors else 200), investment=row,
                  price_rules=PRICE_RULES,
                  figures=figures, form=action.form, typed=typed, errors=errors,
                  action=f"/office/investments/{investment_id}/{action.form.name}")  # fmt: skip

