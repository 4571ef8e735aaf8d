"""The fund officer's loans: the list (paged, filtered by status, borrower, product and centre),
an application with the savings-first check shown before it is sent, the approvals queue with
approval, rejection, withdrawal and cancellation, paying out a tranche, and the loan card with
its figures, schedule versions, statement, class history and a printable schedule (PDF).

Every figure and write is the API's. Reads: `loans.list_loans` (GET /v1/loans),
`loans.state(...).figures` (GET /v1/loans/{id}), `schedule_views` (GET .../schedule), the
statement lines as GET .../statement makes them. Writes: the API's own route functions
(`apply_for_loan`, `approve_loan`, `reject_loan`, `withdraw_loan`, `cancel_loan`, `disburse`)
under the form's idempotency key, so each is the same audited write, recorded under the person.
Who may do what is the API's rule: the roles of api.context, and whether a person may approve
a loan is `loans.approval_refusal`, the rule `loans.approve` keeps (four eyes). The savings
check is `ledger.loan_book.missing_savings_satang`, the one `loans.apply` refuses with.
The operations on an active loan (repayments, reschedules, write-off, ...) have pages of their
own under /office/loans/{id}/; the card links to those its status and the person's role allow.
"""

import json
from datetime import date, timedelta
from typing import Annotated

from fastapi import Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.context import APPROVERS, LOAN_OFFICERS, STAFF
from api.formats import MEDIA_TYPES, attachment, book_names, table_pdf
from api.loan_schemas import LoanEndCreate
from api.pages import PageDep, next_cursor
from api.routes import loans as loan_api
from api.routes.loans import schedule_views, visible_loan
from api.schemas import IdPath, IdQuery
from api.writes import form_write
from ledger.calendar import page_form, parse_client_date
from ledger.errors import LedgerError, Rejection
from ledger.loan_book import missing_savings_satang, statement_lines, totals
from ledger.loans import schedule
from ledger.money import format_amount, people_amount
from ledger.tabular import Column, Label, Table
from store import books, equity, loans, users
from store.users import Principal
from web import office_loan_forms
from web.forms import message, new_key, read_amount
from web.i18n import N_, language_of
from web.loan_forms import CHARGE_OFF_REASONS
from web.office_loan_forms import ApplicationTyped
from web.routes import page_router
from web.session import page_role
from web.templating import render

router = page_router()
PageLoanOfficer = Annotated[Principal, Depends(page_role(LOAN_OFFICERS))]
PageApprover = Annotated[Principal, Depends(page_role(APPROVERS))]
PageDecider = Annotated[Principal, Depends(page_role(LOAN_OFFICERS | APPROVERS))]
PageStaff = Annotated[Principal, Depends(page_role(STAFF))]
StatusQuery = Annotated[str | None, Query(pattern=loan_api.STATUS_PATTERN.replace("^(", "^(|"))]  # "": every status
FormText = Annotated[str, Form(max_length=600)]
MAX_CHOICES = 500
CLASS_HISTORY_MONTHS = 24
DECISIONS = {"rejection": loan_api.reject_loan, "withdrawal": loan_api.withdraw_loan,
             "cancellation": loan_api.cancel_loan}  # fmt: skip
# Why a person may not approve, in words, for the reasons `loans.approval_refusal` gives.
APPROVAL_REFUSALS = {
    Rejection.same_user_approval: N_("You recorded this application: someone else approves it (four eyes)."),
    Rejection.loan_not_pending_approval: N_("This loan is not waiting for approval."),
}
DECISION_REFUSALS = {
    Rejection.loan_rejected: N_("This application was turned down already."),
    Rejection.loan_withdrawn: N_("This application was withdrawn already."),
    Rejection.loan_cancelled: N_("This loan was cancelled already."),
    Rejection.nothing_to_cancel: N_("Nothing of this loan is left to cancel."),
    Rejection.loan_not_pending_approval: N_("This loan is not waiting for approval."),
    Rejection.idempotency_key_reused: N_("This form was saved already with other values. Start a new one."),
}


# --- the list ------------------------------------------------------------------------------------


@router.get("/office/loans")
def loan_list(request: Request, principal: PageStaff, page: PageDep, status: StatusQuery = None,
              borrower: IdQuery = None, product: IdQuery = None, centre: IdQuery = None):  # fmt: skip
    filters = {"status": status or None, "borrower_party_id": borrower, "product_id": product, "centre_id": centre}
    with request.app.state.db.read() as connection:
        rows = loans.list_loans(connection, filters=filters, only_party=None, after=page.after, limit=page.limit)
        choices = _choices(connection)
        parties = _parties(connection, {r["borrower_party_id"] for r in rows})
    query = {"status": status, "borrower": borrower, "product": product, "centre": centre}
    return render(request, "office_loans.html", loans=rows, parties=parties, next_cursor=next_cursor(rows, page),
                  query={k: v for k, v in query.items() if v}, statuses=loan_api.STATUS_PATTERN[2:-2].split("|"),
                  **choices)  # fmt: skip


def _choices(connection) -> dict:
    """The borrowers, products and incubation centres to choose from, by name."""
    borrowers = loans.borrowers(connection, limit=MAX_CHOICES)
    centre_ids = {b["centre_id"] for b in borrowers if b["centre_id"]}
    return {"borrowers": borrowers, "products": loans.list_products(connection, after=0, limit=MAX_CHOICES),
            "centres": [books.get_party(connection, i) for i in sorted(centre_ids)]}  # fmt: skip


def _parties(connection, ids) -> dict[int, dict]:
    return {i: books.get_party(connection, i) for i in ids}


# --- an application ------------------------------------------------------------------------------


@router.get("/office/loans/new")
def application_form(request: Request, principal: PageLoanOfficer):
    return _application(request, office_loan_forms.blank_application(), [])


@router.post("/office/loans/preview")
def application_preview(request: Request, principal: PageLoanOfficer, typed: ApplicationTyped):
    """The fragment of the savings-first check and the instalment (nothing written)."""
    with request.app.state.db.read() as connection:
        check = _savings_check(connection, typed, request.app.state.clock.today())
    return render(request, "_loan_application_preview.html", check=check)


@router.post("/office/loans/new")
def apply(request: Request, principal: PageLoanOfficer, typed: ApplicationTyped,
          action: Annotated[str, Form(max_length=20)] = ""):  # fmt: skip
    """Check shows the form again with the savings-first check; Record sends the application,
    the API's audited write under the form's key."""
    if action == "check":
        return _application(request, typed, [])
    body, errors = office_loan_forms.read_application(typed)
    if errors:
        return _application(request, typed, errors)
    try:
        write = form_write(request, typed["key"] or new_key(), body.model_dump(mode="json"))
        answer = loan_api.apply_for_loan(body, request, write, principal)
    except LedgerError as error:
        found = office_loan_forms.refusal(error)
        if found is None:
            raise
        return _application(request, typed, [found])
    return RedirectResponse(f"/office/loans/{json.loads(answer.body)['id']}?recorded=1", 303)


def _application(request: Request, typed: dict, errors: list):
    with request.app.state.db.read() as connection:
        choices = _choices(connection)
        check = _savings_check(connection, typed, request.app.state.clock.today())
    return render(request, "office_loan_form.html", 422 if errors else 200, typed=typed, errors=errors,
                  error_of=dict(errors), check=check, guarantor_rows=office_loan_forms.GUARANTOR_ROWS,
                  advance_choices=office_loan_forms.CHOICES["advance_payment"], **choices)  # fmt: skip


def _savings_check(connection, typed: dict, today: date) -> dict | None:
    """What the product asks the group to have saved of the typed amount, and how far its typed
    savings fall short (`missing_savings_satang`, the check `loans.apply` makes); with the
    instalments the loan would have if paid out in full today. None until both are typed."""
    product_id = office_loan_forms.read_count(typed["product_id"])
    amount, _ = read_amount(typed["amount"])
    saved, savings_error = office_loan_forms.read_baht(typed["savings"])
    if not (product_id and amount) or savings_error:
        return None
    try:
        product = loans.get_product(connection, product_id)
    except LedgerError:
        return None
    missing = missing_savings_satang(saved, amount, product["min_savings_percent"])
    check = {"product": product, "amount_satang": amount, "savings_satang": saved, "missing_satang": missing,
             "required_satang": saved + missing if missing else None, "planned": None,
             "override": bool(typed["savings_override_reason"].strip())}  # fmt: skip
    term = office_loan_forms.read_count(typed["term_instalments"]) or product["terms"].term_instalments
    try:
        terms = loans.loan_terms(product, {"term_instalments": term, "first_repayment_on": None})
        check["planned"] = schedule(amount, terms, today)
    except LedgerError:
        pass  # a term the ledger refuses: the application's own check says why, beside the field
    return check


# --- approvals -----------------------------------------------------------------------------------


@router.get("/office/approvals")
def approvals(request: Request, principal: PageDecider, page: PageDep, done: str = ""):
    """Applications waiting for approval, approved loans not yet paid out, and the co-investment
    purchases waiting for approval (`equity.list_investments`, GET /v1/investments' query)."""
    with request.app.state.db.read() as connection:
        waiting = loans.list_loans(connection, filters={"status": "applied"}, only_party=None, after=page.after,
                                   limit=page.limit)  # fmt: skip
        approved = loans.list_loans(connection, filters={"status": "approved"}, only_party=None, after=0,
                                    limit=MAX_CHOICES)  # fmt: skip
        parties = _parties(connection, {r["borrower_party_id"] for r in (*waiting, *approved)})
        products = {p["id"]: p for p in loans.list_products(connection, after=0, limit=MAX_CHOICES)}
        recorders = {r["recorded_by"]: users.get_user(connection, r["recorded_by"])["name"] for r in waiting}
        investments = equity.list_investments(connection, filters={"status": "pending"}, only_party=None,
                                              limit=MAX_CHOICES)  # a first purchase, awaiting approval  # fmt: skip
    refusals = {loan["id"]: _approval_refusal(loan, principal) for loan in waiting}
    return render(request, "office_approvals.html", waiting=waiting, approved=approved, parties=parties,
                  products=products, recorders=recorders, refusals=refusals, next_cursor=next_cursor(waiting, page),
                  investments=investments,
                  may_approve=principal.role in APPROVERS, may_disburse=principal.role in LOAN_OFFICERS,
                  done=done)  # fmt: skip


def _approval_refusal(loan: dict, principal: Principal) -> str | None:
    """Why this person may not approve the loan, in words: the API's rules (four eyes, then the
    role), asked before the button is offered."""
    refused = loans.approval_refusal(loan, principal.user_id)
    if refused is not None and refused.reason in APPROVAL_REFUSALS:
        return APPROVAL_REFUSALS[refused.reason]
    return None if principal.role in APPROVERS else N_("An approver or an admin approves loans.")


@router.post("/office/loans/{loan_id}/approval")
def approve(request: Request, principal: PageApprover, loan_id: IdPath, key: FormText = ""):
    write = form_write(request, key or new_key(), {"loan_id": loan_id})
    try:
        loan_api.approve_loan(loan_id, request, write, principal)
    except LedgerError as error:
        if error.reason not in APPROVAL_REFUSALS:
            raise
        return _decision_page(request, principal, loan_id, {"approval": message(APPROVAL_REFUSALS[error.reason])})
    return RedirectResponse(f"/office/approvals?done=approved-{loan_id}", 303)


@router.get("/office/loans/{loan_id}/decision")
def decision(request: Request, principal: PageDecider, loan_id: IdPath):
    """Approve, or turn down, withdraw or cancel with a reason: what the person's role allows."""
    return _decision_page(request, principal, loan_id, {})


@router.post("/office/loans/{loan_id}/rejection")
def reject(request: Request, principal: PageApprover, loan_id: IdPath, reason: FormText = "", key: FormText = ""):
    return _decide(request, principal, loan_id, "rejection", reason, key)


@router.post("/office/loans/{loan_id}/withdrawal")
def withdraw(request: Request, principal: PageLoanOfficer, loan_id: IdPath, reason: FormText = "", key: FormText = ""):
    return _decide(request, principal, loan_id, "withdrawal", reason, key)


@router.post("/office/loans/{loan_id}/cancellation")
def cancel(request: Request, principal: PageApprover, loan_id: IdPath, reason: FormText = "", key: FormText = ""):
    return _decide(request, principal, loan_id, "cancellation", reason, key)


def _decide(request: Request, principal: Principal, loan_id: int, kind: str, reason: str, key: str):
    """A rejection, a withdrawal or a cancellation, with its reason: the API's write."""
    typed_reason, error = office_loan_forms.read_reason(reason)
    if error:
        return _decision_page(request, principal, loan_id, {kind: error}, typed={kind: reason})
    write = form_write(request, key or new_key(), {"loan_id": loan_id, "reason": typed_reason})
    try:
        DECISIONS[kind](loan_id, LoanEndCreate(reason=typed_reason), request, write, principal, request.app.state.clock)
    except LedgerError as error:
        if error.reason not in DECISION_REFUSALS:
            raise
        return _decision_page(request, principal, loan_id, {kind: message(DECISION_REFUSALS[error.reason])},
                              typed={kind: reason})  # fmt: skip
    return RedirectResponse(f"/office/loans/{loan_id}?done={kind}", 303)


def _decision_page(request: Request, principal: Principal, loan_id: int, errors: dict, typed: dict | None = None):
    with request.app.state.db.read() as connection:
        loan = loans.get_loan(connection, loan_id)
        borrower = books.get_party(connection, loan["borrower_party_id"])
        product = loans.get_product(connection, loan["product_id"])
    return render(request, "office_loan_decision.html", 422 if errors else 200, loan=loan, borrower=borrower,
                  product=product, errors=errors, typed=typed or {}, key=new_key(),
                  refusal=_approval_refusal(loan, principal), may_approve=principal.role in APPROVERS,
                  may_withdraw=principal.role in LOAN_OFFICERS)  # fmt: skip


# --- paying out a tranche ------------------------------------------------------------------------


@router.get("/office/loans/{loan_id}/disburse")
def disbursement_form(request: Request, principal: PageLoanOfficer, loan_id: IdPath):
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        loan, left = _left_to_pay_out(connection, loan_id, today)
    typed = {"amount": format_amount(left, grouped=True) if left > 0 else "", "effective_date": page_form(today),
             "key": new_key()}  # fmt: skip
    return _disbursement(request, loan, left, typed, [])


@router.post("/office/loans/{loan_id}/disburse")
def disburse(request: Request, principal: PageLoanOfficer, loan_id: IdPath, amount: FormText = "",
             effective_date: FormText = "", key: FormText = ""):  # fmt: skip
    """The tranche: POST /v1/loans/{id}/disbursements' write under the form's key."""
    typed = {"amount": amount, "effective_date": effective_date, "key": key}
    with request.app.state.db.read() as connection:
        loan, left = _left_to_pay_out(connection, loan_id, request.app.state.clock.today())
    body, errors = office_loan_forms.read_tranche(typed)
    if errors:
        return _disbursement(request, loan, left, typed, errors)
    write = form_write(request, key or new_key(), body.model_dump(mode="json"))
    try:
        loan_api.disburse(loan_id, body, request, write, principal, request.app.state.clock)
    except LedgerError as error:
        found = office_loan_forms.refusal(error)
        if found is None:
            raise
        return _disbursement(request, loan, left, typed, [found])
    return RedirectResponse(f"/office/loans/{loan_id}?done=disbursement", 303)


def _left_to_pay_out(connection, loan_id: int, today: date) -> tuple[dict, int]:
    loan = loans.get_loan(connection, loan_id)
    disbursed = loans.state(connection, loan, today).figures(today).disbursed_satang
    return loan, loan["amount_satang"] - loan["cancelled_satang"] - disbursed


def _disbursement(request: Request, loan: dict, left: int, typed: dict, errors: list):
    with request.app.state.db.read() as connection:
        borrower = books.get_party(connection, loan["borrower_party_id"])
    return render(request, "office_loan_disburse.html", 422 if errors else 200, loan=loan, borrower=borrower,
                  left_satang=left, typed=typed, errors=errors, error_of=dict(errors))  # fmt: skip


# --- the loan card -------------------------------------------------------------------------------


@router.get("/office/loans/{loan_id}")
def loan_card(request: Request, principal: PageStaff, loan_id: IdPath, schedule_on: str = "", done: str = "",
              recorded: bool = False):  # fmt: skip
    today = request.app.state.clock.today()
    shown_on = _schedule_day(schedule_on, today)
    with request.app.state.db.read() as connection:
        loan = visible_loan(connection, loan_id, principal)
        current = loans.state(connection, loan, today)
        figures = current.figures(today)
        shown = current if shown_on == today else loans.state(connection, loan, shown_on)
        card = {
            "borrower": books.get_party(connection, loan["borrower_party_id"]),
            "product": loans.get_product(connection, loan["product_id"]),
            "versions": loans.schedule_versions(connection, loan_id),
            "instalments": schedule_views(shown, shown_on) if shown.plan else [],
            "statement": list(zip(current.rows, statement_lines(current.txs), strict=True)),
            "class_history": _class_history(connection, loan, today),
            "people": {i: users.get_user(connection, i)["name"] for i in {loan["recorded_by"], loan["approved_by"]}
                       if i},  # fmt: skip
        }
    undisbursed = loan["amount_satang"] - loan["cancelled_satang"] - figures.disbursed_satang
    return render(request, "office_loan.html", loan=loan, f=figures, today=today, schedule_on=shown_on,
                  undisbursed_satang=undisbursed,
                  actions=_actions(loan, principal, undisbursed, figures.overpaid_satang, current.rows),
                  refusal=loan["status"] == "applied" and _approval_refusal(loan, principal), done=done,
                  recorded=recorded, charge_off_reasons=dict(CHARGE_OFF_REASONS),
                  outstanding_satang=totals(current.txs).outstanding_satang, **card)  # fmt: skip


def _schedule_day(typed: str, today: date) -> date:
    """The day whose schedule version to show (`?schedule_on=2024-06-30`), today if none: read
    as every date a client sends is, so a far date or a Buddhist Era year is refused."""
    return min(parse_client_date(typed), today) if typed else today


def _class_history(connection, loan: dict, today: date) -> list[tuple[date, dict]]:
    """The loan's class and days past due at each month's end since its first tranche (the
    figures GET /v1/loans/{id}?as_of= gives), and today's: each change of class is kept."""
    first = next((r["effective_date"] for r in loans.transactions(connection, loan)), None)
    if first is None:
        return []
    history: list[tuple[date, dict]] = []
    for day in [*_month_ends(first, today), today]:
        figures = loans.state(connection, loan, day).figures(day)
        seen = {"class": str(figures.loan_class), "days_past_due": figures.days_past_due}
        if not history or history[-1][1]["class"] != seen["class"]:
            history.append((day, seen))
    return history


def _month_ends(first: date, today: date) -> list[date]:
    ends, day = [], first
    while len(ends) < CLASS_HISTORY_MONTHS:
        day = (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        if day >= today:
            break
        ends.append(day)
        day += timedelta(days=1)
    return ends


# The operations on a loan: the page, who may run it (the API's roles), the statuses that allow
# it, and what else it needs: something left to pay out, an overpayment, interest paid, a charge-off
# (or none).
ACTIONS = (
    ("disburse", N_("Pay out a tranche"), LOAN_OFFICERS, ("approved", "active"), "undisbursed"),
    ("repayments/new", N_("Record a repayment"), LOAN_OFFICERS, ("active",), None),
    ("reschedule", N_("Reschedule"), LOAN_OFFICERS, ("active",), None),
    ("moratorium", N_("Suspend repayments (moratorium)"), LOAN_OFFICERS, ("active",), None),
    ("rebate", N_("Refund interest (rebate)"), APPROVERS, ("active", "closed"), "interest_paid"),
    ("refund", N_("Pay back an overpayment"), LOAN_OFFICERS, ("active", "closed", "written_off"), "overpaid"),
    ("write-off", N_("Write off"), APPROVERS, ("active",), None),
    ("charge-off", N_("Charge off"), APPROVERS, ("active",), "not_charged_off"),
    ("charge-off-undo", N_("Undo the charge-off"), APPROVERS, ("active", "closed"), "charged_off"),
    ("write-off-undo", N_("Undo the write-off"), APPROVERS, ("written_off",), None),
    ("recovery", N_("Record a recovery"), LOAN_OFFICERS, ("written_off",), None),
    ("decision", N_("Approve or turn down"), APPROVERS, ("applied",), None),
    ("decision", N_("Withdraw the application"), LOAN_OFFICERS, ("applied",), None),
    ("decision", N_("Cancel what is not paid out"), APPROVERS, ("approved", "active"), "undisbursed"),
)


def _actions(loan: dict, principal: Principal, undisbursed: int, overpaid: int, rows: list[dict]) -> list:
    """The links (path, words) to the operations this loan's status and the person's role allow."""
    has = {None: True, "undisbursed": undisbursed > 0, "overpaid": overpaid > 0,
           "interest_paid": any(r["interest_satang"] for r in rows), "charged_off": loan["charged_off_on"] is not None,
           "not_charged_off": loan["charged_off_on"] is None}  # fmt: skip
    return [(f"/office/loans/{loan['id']}/{path}", words) for path, words, roles, statuses, needs in ACTIONS
            if principal.role in roles and loan["status"] in statuses and has[needs]]  # fmt: skip


# --- the printable schedule ----------------------------------------------------------------------

SCHEDULE_COLUMNS = (
    Column("number", "No.", "งวดที่"), Column("due_on", "Due on", "วันครบกำหนด", "date"),
    Column("principal", "Principal", "เงินต้น", "money"), Column("interest", "Interest", "ดอกเบี้ย", "money"),
    Column("total", "Instalment", "ยอดผ่อนชำระ", "money"),
    Column("outstanding", "Principal owed after it", "เงินต้นคงเหลือ", "money"),
)  # fmt: skip


@router.get("/office/loans/{loan_id}/schedule.pdf")
def schedule_pdf(request: Request, principal: PageStaff, loan_id: IdPath):
    """The schedule in force today, to print and hand to the borrower, in the page's language."""
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        loan = visible_loan(connection, loan_id, principal)
        current = loans.state(connection, loan, today)
        if current.plan is None:
            raise books.not_found("schedule of loan", loan_id)  # fixed at the first disbursement
        table = _schedule_table(connection, loan, current, today)
    body = table_pdf(table, language_of(request))
    return Response(body, media_type=MEDIA_TYPES["pdf"], headers=attachment(f"{table.name}.pdf"))


def _schedule_table(connection, loan: dict, current, today: date) -> Table:
    plan, terms = current.plan, current.terms
    borrower = books.get_party(connection, loan["borrower_party_id"])
    product = loans.get_product(connection, loan["product_id"])
    rows = tuple({"number": i.number, "due_on": i.due_on, "principal": i.principal_satang,
                  "interest": i.interest_satang, "total": i.total_satang, "outstanding": i.outstanding_after_satang}
                 for i in plan.instalments)  # fmt: skip
    totals_row = {"number": Label("Total", "รวม"), "principal": sum(i.principal_satang for i in plan.instalments),
                  "interest": plan.interest_satang, "total": plan.total_satang}  # fmt: skip
    rate = f"{terms.rate_annual_percent}"
    notes = (
        Label(f"Borrower: {borrower['name_en'] or borrower['name_th']}", f"ผู้กู้: {borrower['name_th']}"),
        Label(f"Product: {product['name_en'] or product['name_th']}, interest {rate} % a year",
              f"ประเภทเงินกู้: {product['name_th']} อัตราดอกเบี้ยร้อยละ {rate} ต่อปี"),
        Label(f"Principal of the schedule: {people_amount(plan.amount_satang)} baht",
              f"เงินต้นตามตาราง: {people_amount(plan.amount_satang)} บาท"),
    )  # fmt: skip
    return Table(title_en=f"Repayment schedule of loan {loan['id']}", title_th=f"ตารางผ่อนชำระเงินกู้ สัญญาที่ {loan['id']}",
                 **book_names(books.get_book(connection, loan["book_id"])), name=f"loan-{loan['id']}-schedule-{today}",
                 columns=SCHEDULE_COLUMNS, rows=rows, totals=totals_row, as_of=today,
                 total_in_words_satang=plan.total_satang, notes=notes)  # fmt: skip
