"""A rate change for a product's loans that meet a rule, for approvers: the form (from when, the
new rate, an optional end after which the rate before returns, how many days past due at most,
why), and what it did: the loans changed, and those left out with why, in Thai (in arrears, or
in litigation, on the day it starts).

The write is the API's own route (`POST /v1/loan-products/{id}/rate-changes`, the store's
`change_rate_by_rule`) under the form's idempotency key: the same audited operation.
"""

import json
from typing import Annotated

from fastapi import Depends, Request

from api.context import APPROVERS
from api.loan_schemas import RateChangeByRuleCreate
from api.routes.loans import change_rate_by_rule
from api.schemas import IdPath
from api.writes import form_write
from ledger.calendar import page_form
from ledger.errors import LedgerError
from store import loans
from store.users import Principal
from web.i18n import N_
from web.loan_forms import Field, Sent, blank, checked_body, read, refusal, typed_of
from web.routes import page_router
from web.session import page_role
from web.templating import render

router = page_router()
PageApprover = Annotated[Principal, Depends(page_role(APPROVERS))]
FIELDS = (
    Field("effective_on", N_("From which date?"), "date"),
    Field("rate_annual_percent", N_("New rate, percent a year"), "rate", hint=N_("For example 3.5")),
    Field("ends_on", N_("Until (optional): on this date the rate before returns"), "date", required=False),
    Field("max_days_past_due", N_("Loans at most this many days late"), "count", hint=N_("90 days: 3 months")),
    Field("reason", N_("Why is the rate changed?"), "text", hint=N_("For example: the board's resolution")),
)
# Why a loan was left out (store.loans.change_rate_by_rule), in the words of the pages.
LEFT_OUT = {"in_arrears": N_("In arrears on the first day"), "in_litigation": N_("In litigation on the first day")}
REFUSALS = {"invalid_date_range": "ends_on", "date_in_future": "effective_on", "reason_required": "reason",
            "rate_out_of_range": "rate_annual_percent"}  # fmt: skip


@router.get("/office/loan-products/{product_id}/rate-change")
def rate_change_form(request: Request, principal: PageApprover, product_id: IdPath):
    typed = {**blank(FIELDS, page_form(request.app.state.clock.today())), "ends_on": "", "max_days_past_due": "90"}
    return _page(request, product_id, typed, [])


@router.post("/office/loan-products/{product_id}/rate-change")
def change_rate(request: Request, principal: PageApprover, product_id: IdPath, sent: Sent):
    """The API's rate change under the form's key; then what it did, loan by loan."""
    typed = typed_of(sent, FIELDS)
    values, errors = read(FIELDS, typed)
    body, more = checked_body(RateChangeByRuleCreate, FIELDS, values) if not errors else (None, [])
    if errors or more:
        return _page(request, product_id, typed, errors + more)
    write = form_write(request, typed["key"], {"product_id": product_id, **body.model_dump(mode="json")})
    try:
        answer = change_rate_by_rule(product_id, body, request, write, principal, request.app.state.clock)
    except LedgerError as error:
        found = refusal(error, REFUSALS, "effective_on")
        if found is None:
            raise
        return _page(request, product_id, typed, [found])
    return _page(request, product_id, typed, [], done=json.loads(answer.body))


def _page(request: Request, product_id: int, typed: dict, errors: list, done: dict | None = None):
    with request.app.state.db.read() as connection:
        product = loans.get_product(connection, product_id)
    return render(request, "office_rate_change.html", 422 if errors else 200, product=product,
                  operation={"fields": FIELDS}, typed=typed, errors=errors, error_of=dict(errors), done=done,
                  left_out=LEFT_OUT)  # fmt: skip
