"""A loan's operations, for the fund's staff: recording a repayment (where it goes previewed as
the officer types, and on a preview step without JavaScript), taking one back, rescheduling, a
moratorium, writing off and undoing it, charging off and undoing it, a recovery after a
write-off, refunding an overpayment and an interest rebate. Each page sits under the loan's card
`/office/loans/{id}` and goes back to it (303).

Every write is the API's own route (api.routes.loans) called with the API's body under the
form's idempotency key (`api.writes.form_write`): the same audited, idempotent operation, and
who may do it the API's role (LOAN_OFFICERS, or APPROVERS for a write-off, a charge-off, their
undoing and a rebate). The
previews are the store's read-only twins of the writes, which the writes themselves use:
`loans.preview_repayment`, `preview_reschedule`, `preview_moratorium`, `preview_write_off`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from api.context import APPROVERS, LOAN_OFFICERS
from api.loan_schemas import (
    ChargeOffCreate,
    LoanUndoCreate,
    MoneyMovement,
    MoratoriumCreate,
    RebateCreate,
    RepaymentUndo,
    RescheduleCreate,
    WriteOffCreate,
)
from api.routes import loans as loans_api
from api.schemas import IdPath
from api.writes import form_write
from ledger.calendar import page_form
from ledger.errors import LedgerError, Rejection
from ledger.loan_book import TxKind
from store import books, loans
from store.users import Principal
from web.i18n import N_
from web.loan_forms import CHARGE_OFF_REASONS, Field, Sent, blank, body_of, checked_body, read, refusal, typed_of
from web.routes import page_router
from web.session import page_role
from web.templating import render

router = page_router()
LoanOfficer = Annotated[Principal, Depends(page_role(LOAN_OFFICERS))]
# The refusals about an operation's date, shown beside its date field.
DATE_REFUSALS = dict.fromkeys(("date_in_future", "date_before_last_transaction", "period_closed"), "effective_date")


def card(loan_id: int) -> str:
    return f"/office/loans/{loan_id}"


def loan_summary(connection, loan_id: int, today: date) -> dict:
    """What `_loan_summary.html` shows: the loan, its borrower and its figures today (GET /v1/loans/{id})."""
    loan = loans.get_loan(connection, loan_id)
    figures = loans.state(connection, loan, today).figures(today)
    return {"loan": loan, "borrower": books.get_party(connection, loan["borrower_party_id"]), "figures": figures}


def _refused(error: LedgerError, refusals: dict[str, str], default: str) -> tuple[list, int]:
    """The form's errors and status for an operation's refusal; a refusal no form can put right
    (not found, forbidden) is raised on, to its page."""
    found = refusal(error, refusals, default)
    if found is None:
        raise error
    return [found], 409 if error.reason == Rejection.idempotency_key_reused else 422


# --- a repayment, its allocation previewed -----------------------------------------------------

REPAYMENT_FIELDS = (
    Field("effective_date", N_("Date the money was received"), "date"),
    Field("amount", N_("Amount received, in baht"), "amount", hint=N_("For example 10,217.99 or 10217.99")),
)


@router.get("/office/loans/{loan_id}/repayments/new")
def repayment_form(request: Request, principal: LoanOfficer, loan_id: IdPath):
    today = request.app.state.clock.today()
    return _repayment_page(request, loan_id, blank(REPAYMENT_FIELDS, page_form(today)), [])


@router.get("/office/loans/{loan_id}/repayments/preview")
def repayment_preview(request: Request, principal: LoanOfficer, loan_id: IdPath):
    """The allocation as the officer types (htmx): a fragment, from the form's own fields."""
    typed = {f.name: request.query_params.get(f.name, "")[:40] for f in REPAYMENT_FIELDS}
    values, errors = read(REPAYMENT_FIELDS, typed)
    preview = None
    if not errors:
        preview, errors = _preview(request, loan_id, values)
    return render(request, "_repayment_allocation.html", preview=preview,
                  errors=[e for e in errors if typed[e[0]].strip()])  # fmt: skip


@router.post("/office/loans/{loan_id}/repayments/new")
def repayment_preview_or_save(request: Request, principal: LoanOfficer, loan_id: IdPath, sent: Sent):
    """The preview step (nothing written), or, when the values are those previewed, the save:
    POST /v1/loans/{id}/repayments under the form's key."""
    typed = typed_of(sent, REPAYMENT_FIELDS)
    values, errors = read(REPAYMENT_FIELDS, typed)
    if errors:
        return _repayment_page(request, loan_id, typed, errors)
    preview, errors = _preview(request, loan_id, values)
    if errors:
        return _repayment_page(request, loan_id, typed, errors)
    previewed = f"{values['effective_date']}|{values['amount']}"
    if typed["step"] != "save" or typed["previewed"] != previewed:
        return _repayment_page(request, loan_id, {**typed, "previewed": previewed}, [], preview=preview)
    body = body_of(MoneyMovement, REPAYMENT_FIELDS, values)
    write = form_write(request, typed["key"], {"loan_id": loan_id, **body.model_dump(mode="json")})
    try:
        loans_api.repay(loan_id, body, request, write, principal, request.app.state.clock)
    except LedgerError as error:
        return _repayment_page(request, loan_id, typed, *_refused(error, DATE_REFUSALS, "amount"))
    return RedirectResponse(card(loan_id), 303)


def _preview(request: Request, loan_id: int, values: dict) -> tuple[loans.RepaymentPreview | None, list]:
    try:
        with request.app.state.db.read() as connection:
            today = request.app.state.clock.today()
            preview = loans.preview_repayment(connection, loan_id, amount_satang=values["amount"],
                                              on=values["effective_date"], today=today)  # fmt: skip
    except LedgerError as error:
        return None, _refused(error, DATE_REFUSALS, "amount")[0]
    return preview, []


def _repayment_page(request: Request, loan_id: int, typed: dict, errors: list, status: int | None = None,
                    preview: loans.RepaymentPreview | None = None):  # fmt: skip
    with request.app.state.db.read() as connection:
        summary = loan_summary(connection, loan_id, request.app.state.clock.today())
    return render(request, "loan_repayment.html", status or (422 if errors else 200), summary=summary,
                  typed=typed, errors=errors, error_of=dict(errors), preview=preview)  # fmt: skip


# --- taking a repayment back --------------------------------------------------------------------

REVERSAL_FIELDS = (
    Field("reason", N_("Why is the repayment taken back?"), "text", max_length=500,
          hint=N_("For example: the cheque bounced, or it was recorded on the wrong loan")),
)  # fmt: skip


@router.get("/office/loans/{loan_id}/repayments/{repayment_id}/reversal")
def reversal_form(request: Request, principal: LoanOfficer, loan_id: IdPath, repayment_id: IdPath):
    return _reversal_page(request, loan_id, repayment_id, blank(REVERSAL_FIELDS, ""), [])


@router.post("/office/loans/{loan_id}/repayments/{repayment_id}/reversal")
def reverse_repayment(request: Request, principal: LoanOfficer, loan_id: IdPath, repayment_id: IdPath, sent: Sent):
    """POST /v1/loans/{id}/repayments/{rid}/reversal under the form's key."""
    typed = typed_of(sent, REVERSAL_FIELDS)
    values, errors = read(REVERSAL_FIELDS, typed)
    body, more = checked_body(RepaymentUndo, REVERSAL_FIELDS, values) if not errors else (None, [])
    if errors or more:
        return _reversal_page(request, loan_id, repayment_id, typed, errors + more)
    write = form_write(request, typed["key"], {"loan_id": loan_id, "repayment_id": repayment_id,
                                               **body.model_dump(mode="json")})  # fmt: skip
    try:
        loans_api.undo_repayment(loan_id, repayment_id, body, request, write, principal, request.app.state.clock)
    except LedgerError as error:
        return _reversal_page(request, loan_id, repayment_id, typed, *_refused(error, {}, "reason"))
    return RedirectResponse(card(loan_id), 303)


def _reversal_page(request: Request, loan_id: int, repayment_id: int, typed: dict, errors: list,
                   status: int | None = None):  # fmt: skip
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        summary = loan_summary(connection, loan_id, today)
        current = loans.state(connection, summary["loan"], today)
    repayment = next((r for r in current.rows if r["id"] == repayment_id and r["kind"] == TxKind.repayment), None)
    if repayment is None:
        raise books.not_found("repayment in force of loan", loan_id)
    return render(request, "loan_repayment_reversal.html", status or (422 if errors else 200), summary=summary,
                  repayment=repayment, fields=REVERSAL_FIELDS, typed=typed, errors=errors,
                  error_of=dict(errors))  # fmt: skip


# --- the other operations: one form each, a check step where the store previews the effect ------


@dataclass(frozen=True)
class Operation:
    """An operation's page: its words, fields (the API body's), the API's body and route, who
    may do it, where its refusals are shown, and its check step (`check(connection, loan_id,
    values, today)` answers what the check page shows), if it has one."""

    title: str
    intro: str
    button: str
    fields: tuple[Field, ...]
    schema: type[BaseModel]
    run: Callable[..., Any]  # (loan_id, body, request, write, principal)
    roles: frozenset[str]
    refusals: dict[str, str]
    check: Callable[..., dict] | None = None
    warning: str | None = None  # shown on the check step, before the save


def _clocked(route: Callable) -> Callable:
    """An API route that takes the clock too, called as the pages call every route."""
    return lambda loan_id, body, request, write, principal: route(loan_id, body, request, write, principal,
                                                                  request.app.state.clock)  # fmt: skip


def _check_reschedule(connection, loan_id: int, values: dict, today: date) -> dict:
    change = loans.Reschedule(values["effective_date"], values["rate_annual_percent"],
                              values["extra_instalments"] or 0, values["instalment_amount"])  # fmt: skip
    return {"schedule": loans.preview_reschedule(connection, loan_id, change, today=today),
            "from_day": values["effective_date"]}  # fmt: skip


def _check_moratorium(connection, loan_id: int, values: dict, today: date) -> dict:
    first_day, last_day = values["first_day"], values["last_day"]
    schedule = loans.preview_moratorium(connection, loan_id, first_day=first_day, last_day=last_day)
    return {"schedule": schedule, "from_day": first_day}


def _check_write_off(connection, loan_id: int, values: dict, today: date) -> dict:
    return {"write_off": loans.preview_write_off(connection, loan_id, on=values["effective_date"], today=today)}


DATE = Field("effective_date", N_("Date"), "date")
UNDO_REASON = Field("reason", N_("Why is it undone?"), "text", max_length=500,
                    hint=N_("For example: recorded on the wrong loan"))
AMOUNT = Field("amount", N_("Amount, in baht"), "amount", hint=N_("For example 1,500.00 or 1500"))
OPERATIONS = {
    "reschedule": Operation(
        N_("Reschedule the loan"),
        N_("A new rate, more instalments or a new instalment, from a date. What is late is spread over the new "
           "instalments. The old schedule is kept."),
        N_("Reschedule"),
        (Field("effective_date", N_("From which date?"), "date"),
         Field("rate_annual_percent", N_("New rate, percent a year (optional)"), "rate", required=False,
               hint=N_("Leave empty to keep the rate, for example 3.5")),
         Field("extra_instalments", N_("Extra instalments (optional)"), "count", required=False,
               hint=N_("How many instalments to add, for example 6")),
         Field("instalment_amount", N_("Or a new instalment, in baht (optional)"), "amount", required=False,
               hint=N_("Instead of extra instalments: the term follows from it")),
         Field("reason", N_("Why is the loan rescheduled?"), "text")),
        RescheduleCreate, _clocked(loans_api.reschedule), LOAN_OFFICERS,
        {**DATE_REFUSALS, "invalid_term": "extra_instalments",
         "invalid_request": "extra_instalments",
         "reason_required": "reason", "rate_out_of_range": "rate_annual_percent"},
        check=_check_reschedule,
    ),  # fmt: skip
    "moratorium": Operation(
        N_("Grant a moratorium"),
        N_("Principal and interest are suspended from the first day to the last; the later instalments move "
           "that many periods later."),
        N_("Grant the moratorium"),
        (Field("first_day", N_("First day"), "date"), Field("last_day", N_("Last day"), "date"),
         Field("reason", N_("Why is the moratorium granted?"), "text", hint=N_("For example: flood in the province"))),
        MoratoriumCreate, loans_api.moratorium, LOAN_OFFICERS,
        {"date_before_last_transaction": "first_day", "invalid_date_range": "last_day", "reason_required": "reason"},
        check=_check_moratorium,
    ),  # fmt: skip
    "write-off": Operation(
        N_("Write the loan off"),
        N_("The principal still owed leaves the books, paid for by the allowance for loan losses as far as it "
           "holds; interest and penalties accrued and not received are taken out of income."),
        N_("Write the loan off"),
        (DATE, Field("reason", N_("Why is the loan written off?"), "text", max_length=500)),
        WriteOffCreate, _clocked(loans_api.write_off), APPROVERS,
        {**DATE_REFUSALS, "reason_required": "reason"},
        check=_check_write_off,
        warning=N_("Only an approver can undo it, and only while nothing was recovered or refunded after it."),
    ),  # fmt: skip
    "write-off-undo": Operation(
        N_("Undo the write-off"),
        N_("The write-off's entry is reversed on its own date: the principal is owed again and the loan is active "
           "again, as it was before."),
        N_("Undo the write-off"),
        (UNDO_REASON,), LoanUndoCreate, _clocked(loans_api.undo_write_off), APPROVERS, {"reason_required": "reason"},
    ),  # fmt: skip
    "charge-off": Operation(
        N_("Charge the loan off"),
        N_("The loan leaves the performing book: the principal still owed is counted as a loss (into the allowance "
           "for loan losses), no more interest is accrued, and the group still owes and repays it. An approver "
           "can undo it."),
        N_("Charge the loan off"),
        (DATE, Field("reason", N_("Why is the loan charged off?"), "choice", choices=CHARGE_OFF_REASONS),
         Field("note", N_("Note (needed for another reason)"), "text", required=False, max_length=500)),
        ChargeOffCreate, _clocked(loans_api.charge_off), APPROVERS,
        {**DATE_REFUSALS, "reason_required": "note"},
    ),  # fmt: skip
    "charge-off-undo": Operation(
        N_("Undo the charge-off"),
        N_("The charge-off's entry is reversed on its own date and the loan is back on the performing book; close "
           "of business accrues again the interest it had stopped."),
        N_("Undo the charge-off"),
        (UNDO_REASON,), LoanUndoCreate, _clocked(loans_api.undo_charge_off), APPROVERS, {"reason_required": "reason"},
    ),  # fmt: skip
    "recovery": Operation(
        N_("Record a recovery"),
        N_("Money received on a loan written off. The loan stays written off; at most what was written off is "
           "recovered."),
        N_("Record the recovery"),
        (DATE, AMOUNT), MoneyMovement, _clocked(loans_api.recover), LOAN_OFFICERS,
        DATE_REFUSALS,
    ),  # fmt: skip
    "refund": Operation(
        N_("Refund an overpayment"),
        N_("Pay back to the borrower what it paid beyond what was due, at most the overpayment it holds."),
        N_("Refund"),
        (DATE, AMOUNT), MoneyMovement, _clocked(loans_api.refund), LOAN_OFFICERS,
        DATE_REFUSALS,
    ),  # fmt: skip
    "rebate": Operation(
        N_("Give an interest rebate"),
        N_("Give interest back to a borrower that repaid well (nothing late on the date), at most the interest it "
           "paid."),
        N_("Give the rebate"),
        (DATE, AMOUNT,
         Field("to", N_("Where does the rebate go?"), "choice",
               choices=(("overpayments", N_("Kept for the borrower against later instalments, or refunded")),
                        ("cash", N_("Paid out in cash")))),
         Field("reason", N_("Why is the rebate given?"), "text", max_length=400)),
        RebateCreate, _clocked(loans_api.rebate), APPROVERS,
        {**DATE_REFUSALS, "not_in_good_standing": "effective_date",
         "reason_required": "reason"},
    ),  # fmt: skip
}


def _operation_routes(slug: str, operation: Operation) -> None:
    """The operation's form (GET) and its check step or save (POST), for its roles only."""
    allowed = Annotated[Principal, Depends(page_role(operation.roles))]
    path = f"/office/loans/{{loan_id}}/{slug}"

    def form(request: Request, principal: allowed, loan_id: IdPath):
        typed = blank(operation.fields, page_form(request.app.state.clock.today()))
        return _operation_page(request, slug, loan_id, typed, [])

    def check_or_save(request: Request, principal: allowed, loan_id: IdPath, sent: Sent):
        return _check_or_save(request, principal, slug, loan_id, typed_of(sent, operation.fields))

    router.add_api_route(path, form, methods=["GET"])
    router.add_api_route(path, check_or_save, methods=["POST"])


def _check_or_save(request: Request, principal: Principal, slug: str, loan_id: int, typed: dict):
    operation = OPERATIONS[slug]
    values, errors = read(operation.fields, typed)
    body, more = checked_body(operation.schema, operation.fields, values) if not errors else (None, [])
    if typed["step"] == "change" or errors or more:
        return _operation_page(request, slug, loan_id, typed, errors + more)
    default = "amount" if any(f.name == "amount" for f in operation.fields) else operation.fields[0].name
    if operation.check and typed["step"] != "save":
        try:
            with request.app.state.db.read() as connection:
                shown = operation.check(connection, loan_id, values, request.app.state.clock.today())
        except LedgerError as error:
            return _operation_page(request, slug, loan_id, typed, *_refused(error, operation.refusals, default))
        return _operation_page(request, slug, loan_id, typed, [], check=shown)
    write = form_write(request, typed["key"], {"loan_id": loan_id, **body.model_dump(mode="json")})
    try:
        operation.run(loan_id, body, request, write, principal)
    except LedgerError as error:
        return _operation_page(request, slug, loan_id, typed, *_refused(error, operation.refusals, default))
    return RedirectResponse(card(loan_id), 303)


def _operation_page(request: Request, slug: str, loan_id: int, typed: dict, errors: list, status: int | None = None,
                    check: dict | None = None):  # fmt: skip
    with request.app.state.db.read() as connection:
        summary = loan_summary(connection, loan_id, request.app.state.clock.today())
    template = "loan_operation_check.html" if check is not None else "loan_operation.html"
    return render(request, template, status or (422 if errors else 200), summary=summary, slug=slug,
                  operation=OPERATIONS[slug], typed=typed, errors=errors, error_of=dict(errors),
                  check=check or {}, carried={k: v for k, v in typed.items() if k != "step"})  # fmt: skip


for _slug, _operation in OPERATIONS.items():
    _operation_routes(_slug, _operation)
