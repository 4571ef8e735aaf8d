"""Loan products, loans and their life cycle, close of business and the portfolio report.

Officers (and admins) make products, record applications, disburse and take repayments; an
approver (or admin) other than the officer who recorded a loan approves it; an admin runs close
of business. Every role but enterprise reads every loan; an enterprise token reads only the
loans of its own party (any other is 404) and not the portfolio (403).
"""

from datetime import date
from decimal import Decimal
from time import perf_counter
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api import logs
from api.context import APPROVERS, Admin, Approver, ClockDep, LoanOfficer, ReadDep, Reader, RoleRefusal, Staff
from api.formats import CsvFormatDep
from api.loan_schemas import (
    ChargeOffCreate,
    ChargeOffPublic,
    CloseOfBusinessCreate,
    CloseOfBusinessPublic,
    LitigationUpdate,
    LoanCreate,
    LoanEndCreate,
    LoanEventPublic,
    LoanProductCreate,
    LoanProductPublic,
    LoanPublic,
    LoanStatementPublic,
    LoanTermsBody,
    LoanUndoCreate,
    MoneyMovement,
    MoratoriumCreate,
    PortfolioPublic,
    RateChangeByRuleCreate,
    RateChangeByRulePublic,
    RebateCreate,
    RepaymentUndo,
    RescheduleCreate,
    SchedulePublic,
    WriteOffCreate,
)
from api.pages import PageDep, next_cursor
from api.render import csv_response
from api.schemas import ClientDate, IdPath, IdQuery, Page
from api.writes import Outcome, Write, perform
from ledger.errors import LedgerError, Rejection
from ledger.loan_book import Figures, InstalmentView, Portfolio, instalment_views, statement_lines, totals
from ledger.loans import DEFAULT_AGEING_BOUNDS, LoanTerms, RateChange, RatePer, loan_rate, yearly_rate
from ledger.money import format_amount, parse_amount
from ledger.onlend import loan_interest
from store import books, loan_charge_off, loan_cob, loans, savings
from store.loans import LoanState, Recorded
from store.users import Principal

router = APIRouter(prefix="/v1")
CSV = {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv or Accept: text/csv"}
STATEMENT_COLUMNS = ("transaction_id", "entry_id", "effective_date", "kind", "amount", "principal", "interest",
                     "penalty", "overpayment", "principal_outstanding")  # fmt: skip
AsOf = Annotated[ClientDate | None, Query(description="Default: the business date (Bangkok)")]
STATUS_PATTERN = "^(applied|approved|active|closed|written_off|rejected|withdrawn|cancelled)$"


# --- bodies ------------------------------------------------------------------------------------


def parse_terms(body: LoanTermsBody) -> LoanTerms:
    """The domain's terms from the request: rates and amounts parsed exactly, the rest judged by
    `LoanTerms`, which refuses bad terms with their own reasons."""
    rate, rate_per = _rate_of(body)
    return LoanTerms(
        rate_annual_percent=rate, rate_per=rate_per, term_instalments=body.term_instalments,
        interest_method=body.interest_method, amortization=body.amortization, interest_basis=body.interest_basis,
        repayment_every=body.repayment_every, repayment_unit=body.repayment_unit, day_count=body.day_count,
        rounding=body.rounding, instalment_multiple_satang=parse_amount(body.instalment_multiple),
        grace_principal_periods=body.grace_principal_periods, grace_interest_periods=body.grace_interest_periods,
        deferred_interest=body.deferred_interest, interest_free_periods=body.interest_free_periods,
        rate_changes=tuple(RateChange(c.effective_on, loan_rate(c.rate_annual_percent)) for c in body.rate_changes),
        arrears_tolerance_satang=parse_amount(body.arrears_tolerance), overdue_grace_days=body.overdue_grace_days,
        penalty_rate_annual_percent=loan_rate(body.penalty_rate_annual_percent),
        penalty_from_day=body.penalty_from_day, allocation_order=tuple(body.allocation_order),
        multiple_rounding=body.multiple_rounding, multiple_applies_to=body.multiple_applies_to,
        days_in_month=body.days_in_month, flat_interest=body.flat_interest, last_instalment=body.last_instalment,
        penalty_on=body.penalty_on,
        advance_payment=body.advance_payment,
    )  # fmt: skip


def _rate_of(body: LoanTermsBody) -> tuple[Decimal, RatePer]:
    """The yearly rate and the unit it was quoted in: a month's rate is 12 times smaller."""
    yearly, monthly = body.rate_annual_percent, body.rate_monthly_percent
    if (yearly is None) == (monthly is None):
        detail = "give the rate either a year (rate_annual_percent) or a month (rate_monthly_percent)"
        raise LedgerError(Rejection.malformed_rate, detail)
    if monthly is None:
        return loan_rate(yearly), RatePer.year
    return yearly_rate(loan_rate(monthly), RatePer.month), RatePer.month


def terms_body(terms: LoanTerms) -> dict:
    return {
        **{name: getattr(terms, name) for name in LoanTerms.__dataclass_fields__},
        "rate_annual_percent": str(terms.rate_annual_percent),
        "rate_monthly_percent": str(terms.rate_quoted_percent) if terms.rate_per is RatePer.month else None,
        "penalty_rate_annual_percent": str(terms.penalty_rate_annual_percent),
        "instalment_multiple": format_amount(terms.instalment_multiple_satang),
        "arrears_tolerance": format_amount(terms.arrears_tolerance_satang),
        "allocation_order": [str(c) for c in terms.allocation_order],
        "rate_changes": [
            {"effective_on": c.effective_on, "rate_annual_percent": str(c.rate_annual_percent)}
            for c in terms.rate_changes
        ],
    }


def product_body(product: dict) -> dict:
    terms, share, codi_rate = terms_body(product["terms"]), product["min_savings_percent"], product.get(
        "codi_rate_annual_percent"
    )
    return {**product, "terms": terms, "min_savings_percent": str(share),
            "codi_rate_annual_percent": None if codi_rate is None else str(codi_rate)}  # fmt: skip


def _optional_rate(text: str | None) -> Decimal | None:
    return None if text is None else loan_rate(text)


def interest_split_body(connection, loan: dict, current: LoanState, day: date | None = None) -> dict | None:
    """A member loan's interest by `day` (all of it if None) split between CODI and the
    organisation at its product's rates (`ledger.onlend.loan_interest`); None if it records no split."""
    product = loans.get_product(connection, loan["product_id"])
    codi_rate, rate = product["codi_rate_annual_percent"], product["terms"].rate_annual_percent
    if codi_rate is None:
        return None
    interest = loan_interest(totals(current.txs, day), codi_rate, rate)
    charged, collected = interest.charged, interest.collected
    return {
        "rate_annual_percent": str(rate), "codi_rate_annual_percent": str(codi_rate),
        "charged": format_amount(interest.charged_satang),
        "charged_owed_to_codi": format_amount(charged.owed_to_codi_satang),
        "charged_margin": format_amount(charged.margin_satang),
        "collected": format_amount(interest.collected_satang),
        "collected_owed_to_codi": format_amount(collected.owed_to_codi_satang),
        "collected_margin": format_amount(collected.margin_satang),
    }  # fmt: skip


def figures_body(loan: dict, f: Figures) -> dict:
    return {
        "as_of": f.as_of, "disbursed": format_amount(f.disbursed_satang),
        "undisbursed": format_amount(loan["amount_satang"] - loan.get("cancelled_satang", 0) - f.disbursed_satang),
        "principal_outstanding": format_amount(f.principal_outstanding_satang),
        "principal_due": format_amount(f.principal_due_satang), "interest_due": format_amount(f.interest_due_satang),
        "penalty_due": format_amount(f.penalty_due_satang),
        "total_due": format_amount(f.due_satang),
        "principal_past_due": format_amount(f.principal_past_due_satang),
        "interest_past_due": format_amount(f.interest_past_due_satang),
        "total_past_due": format_amount(f.past_due_satang),
        "interest_receivable": format_amount(f.interest_receivable_satang),
        "overpaid": format_amount(f.overpaid_satang),
        "days_past_due": f.days_past_due, "loan_class": f.loan_class.value, "ageing_bucket": f.ageing_bucket,
        "next_due_on": f.next_due_on, "next_due_amount": format_amount(f.next_due_satang), "maturity_on": f.maturity_on,
    }  # fmt: skip


def loan_body(loan: dict, figures: Figures | None = None) -> dict:
    body = {**loan, "amount": format_amount(loan["amount_satang"]), "savings": format_amount(loan["savings_satang"]),
            "cancelled": format_amount(loan.get("cancelled_satang", 0))}  # fmt: skip
    return {**body, "figures": figures_body(loan, figures) if figures else None}


def transaction_body(row: dict) -> dict:
    parts = ("amount", "principal", "interest", "penalty", "overpayment", "interest_from_receivable")
    return {**row, **{name: format_amount(row[f"{name}_satang"]) for name in parts}}


# --- products ----------------------------------------------------------------------------------


@router.post("/loan-products", status_code=201, response_model=LoanProductPublic, tags=["loans"])
def create_product(body: LoanProductCreate, request: Request, write: Write, principal: LoanOfficer) -> Response:
    """A loan product: its terms, the savings a group must hold (percent of the amount) and the
    accounts it posts to (the fund chart's, unless `account_codes` names others)."""
    fields = {
        "book_id": body.book_id, "code": body.code, "name_th": body.name_th, "name_en": body.name_en,
        "terms": parse_terms(body), "min_savings_percent": loan_rate(body.min_savings_percent),
        "account_codes": body.account_codes,
        "codi_rate_annual_percent": _optional_rate(body.codi_rate_annual_percent),
    }  # fmt: skip

    def work(connection, now):
        product = loans.create_product(connection, fields, created_by=principal.user_id, now=now)
        return Outcome(LoanProductPublic.model_validate(product_body(product)), f"loan-product:{product['id']}", 201)

    return perform(request, write, principal, "loan-product.create", work)


@router.get("/loan-products", response_model=Page[LoanProductPublic], tags=["loans"])
def list_products(connection: ReadDep, principal: Reader, page: PageDep) -> dict:
    rows = loans.list_products(connection, after=page.after, limit=page.limit)
    return {"data": [product_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


@router.get("/loan-products/{product_id}", response_model=LoanProductPublic, tags=["loans"])
def get_product(product_id: IdPath, connection: ReadDep, principal: Reader) -> dict:
    return product_body(loans.get_product(connection, product_id))


# --- loans -------------------------------------------------------------------------------------


def visible_loan(connection, loan_id: int, principal: Principal) -> dict:
    """A loan the principal may read: any loan, or for a party its own loans only."""
    return loans.get_loan(connection, loan_id, borrower=principal.party_id)


@router.post("/loans", status_code=201, response_model=LoanPublic, tags=["loans"])
def apply_for_loan(body: LoanCreate, request: Request, write: Write, principal: LoanOfficer) -> Response:
    """Record an application for a borrower group (status `applied`). The group's savings must be
    at least the product's share of the amount, unless `savings_override_reason` says why not."""
    fields = {
        **body.model_dump(exclude={"amount", "savings"}),
        "amount_satang": parse_amount(body.amount), "savings_satang": parse_amount(body.savings),
        "applied_on": request.app.state.clock.today(),
    }  # fmt: skip
    fields["savings_override"] = savings_overridden(request, fields)
    if fields["savings_override"] and principal.role not in APPROVERS:
        raise RoleRefusal(principal.role, APPROVERS, "override the savings the organisation's book holds")

    def work(connection, now):
        loan = loans.apply(connection, fields, recorded_by=principal.user_id, now=now)
        return Outcome(LoanPublic.model_validate(loan_body(loan)), f"loan:{loan['id']}", 201)

    action = "loan.apply.savings_override" if fields["savings_override"] else "loan.apply"
    return perform(request, write, principal, action, work)


def savings_overridden(request: Request, fields: dict) -> bool:
    """Whether the typed savings differ from what the borrowing organisation's own book holds on
    the application date (an override: an approver's, audited as `loan.apply.savings_override`).
    The write checks it again (`store.loans`): a deposit made meanwhile is not overridden unseen."""
    with request.app.state.db.read() as connection:
        product = loans.get_product(connection, fields["product_id"])
        booked = savings.book_savings(connection, lender_book_id=product["book_id"],
                                      borrower_id=fields["borrower_party_id"], on=fields["applied_on"])  # fmt: skip
    return booked is not None and booked != fields["savings_satang"]


@router.get("/loans", response_model=Page[LoanPublic], tags=["loans"])
def list_loans(
    connection: ReadDep,
    principal: Reader,
    page: PageDep,
    book_id: IdQuery = None,
    product_id: IdQuery = None,
    borrower_party_id: IdQuery = None,
    centre_id: IdQuery = None,
    status: Annotated[str | None, Query(pattern=STATUS_PATTERN)] = None,
) -> dict:
    filters = {"book_id": book_id, "product_id": product_id, "borrower_party_id": borrower_party_id,
               "centre_id": centre_id, "status": status}  # fmt: skip
    rows = loans.list_loans(
        connection, filters=filters, only_party=principal.party_id, after=page.after, limit=page.limit
    )
    return {"data": [loan_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


@router.get("/loans/{loan_id}", response_model=LoanPublic, tags=["loans"])
def get_loan(loan_id: IdPath, connection: ReadDep, principal: Reader, clock: ClockDep, as_of: AsOf = None) -> dict:
    """The loan with its figures as of a date: principal outstanding, what is due, days past
    due, class, and the next instalment; a member loan whose product records CODI's part of the
    rate, its interest split between CODI and the organisation (`interest_split`)."""
    loan = visible_loan(connection, loan_id, principal)
    day = as_of or clock.today()
    current = loans.state(connection, loan, day)
    split = interest_split_body(connection, loan, current, day)
    return {**loan_body(loan, current.figures(day)), "interest_split": split}


@router.post("/loans/{loan_id}/approval", response_model=LoanPublic, tags=["loans"])
def approve_loan(loan_id: IdPath, request: Request, write: Write, principal: Approver) -> Response:
    """Approve an application: by an approver (or admin) other than the user who recorded it."""

    def work(connection, now):
        loan = loans.approve(connection, loan_id, approved_by=principal.user_id, now=now)
        return Outcome(LoanPublic.model_validate(loan_body(loan)), f"loan:{loan_id}")

    return perform(request, write, principal, "loan.approve", work)


@router.post("/loans/{loan_id}/rejection", response_model=LoanPublic, tags=["loans"])
def reject_loan(
    loan_id: IdPath, body: LoanEndCreate, request: Request, write: Write, principal: Approver, clock: ClockDep
) -> Response:
    """Turn an application down, with a reason (approvers only): status `rejected`, for good;
    approving or disbursing it is then refused (409 `loan_rejected`)."""
    return _end_loan(loan_id, request, write, principal, clock, "loan.reject",
                     lambda c, today, now: loans.reject(c, loan_id, reason=body.reason, today=today))  # fmt: skip


@router.post("/loans/{loan_id}/withdrawal", response_model=LoanPublic, tags=["loans"])
def withdraw_loan(
    loan_id: IdPath, body: LoanEndCreate, request: Request, write: Write, principal: LoanOfficer, clock: ClockDep
) -> Response:
    """Record that the borrower withdrew its application, with a reason: status `withdrawn`, for
    good; approving or disbursing it is then refused (409 `loan_withdrawn`)."""
    return _end_loan(loan_id, request, write, principal, clock, "loan.withdraw",
                     lambda c, today, now: loans.withdraw(c, loan_id, reason=body.reason, today=today))  # fmt: skip


@router.post("/loans/{loan_id}/cancellation", response_model=LoanPublic, tags=["loans"])
def cancel_loan(
    loan_id: IdPath, body: LoanEndCreate, request: Request, write: Write, principal: Approver, clock: ClockDep
) -> Response:
    """Cancel what of an approved loan is not disbursed, with a reason (approvers only). With no
    tranche paid out the loan is `cancelled` for good (disbursing: 409 `loan_cancelled`); a
    partly disbursed loan stays active, takes no further tranche (409 `loan_remainder_cancelled`)
    and closes when what was disbursed is repaid. Nothing left to cancel: 409 `nothing_to_cancel`."""
    return _end_loan(loan_id, request, write, principal, clock, "loan.cancel",
                     lambda c, today, now: loans.cancel(c, loan_id, reason=body.reason, today=today,
                                                        user_id=principal.user_id, now=now))  # fmt: skip


def _end_loan(loan_id: int, request: Request, write, principal, clock, action: str, call) -> Response:
    """A route body that ends a loan (or what of it is undisbursed), through `perform`: no money
    moves, so no key is needed. `call(connection, today, now)` does it and returns the loan."""
    today = clock.today()

    def work(connection, now):
        return Outcome(_loan_now(connection, call(connection, today, now), today), f"loan:{loan_id}")

    return perform(request, write, principal, action, work)


def _event(connection, recorded: Recorded, day: date) -> LoanEventPublic:
    figures = loans.state(connection, recorded.loan, day).figures(day)
    return LoanEventPublic.model_validate(
        {"transaction": transaction_body(recorded.transaction), "loan": loan_body(recorded.loan, figures)}
    )


def _money_event(action: str, store_call, status: int = 201):
    """A route body for a loan event that moves money: through `perform`, with a key."""

    def route(loan_id: int, body: MoneyMovement, request: Request, write, principal, clock) -> Response:
        amount, today = parse_amount(body.amount), clock.today()

        def work(connection, now):
            recorded = store_call(connection, loan_id, amount_satang=amount, on=body.effective_date, today=today,
                                  user_id=principal.user_id, now=now)  # fmt: skip
            event = _event(connection, recorded, body.effective_date)
            return Outcome(event, f"loan:{loan_id}", status, [recorded.entry_id, *recorded.more_entry_ids])

        return perform(request, write, principal, action, work, needs_key=True)

    return route


_disburse = _money_event("loan.disburse", loans.disburse)
_repay = _money_event("loan.repay", loans.repay)
_recover = _money_event("loan.recover", loans.recover)
_refund = _money_event("loan.refund", loans.refund)


@router.post("/loans/{loan_id}/disbursements", status_code=201, response_model=LoanEventPublic, tags=["loans"])
def disburse(
    loan_id: IdPath, body: MoneyMovement, request: Request, write: Write, principal: LoanOfficer, clock: ClockDep
) -> Response:
    """Pay out a tranche of an approved loan (Dr the loan's receivable / Cr cash at bank). Needs
    an Idempotency-Key. The first tranche fixes the schedule; each later one adds a version."""
    return _disburse(loan_id, body, request, write, principal, clock)


@router.post("/loans/{loan_id}/repayments", status_code=201, response_model=LoanEventPublic, tags=["loans"])
def repay(
    loan_id: IdPath, body: MoneyMovement, request: Request, write: Write, principal: LoanOfficer, clock: ClockDep
) -> Response:
    """Take a repayment: penalties, interest and principal due on its date, in the product's
    order; any excess is an overpayment (a liability). Needs an Idempotency-Key. A repayment
    dated before later repayments re-allocates them: their entries are reversed and their
    amounts posted again after it, in date order (other money moved later is refused)."""
    return _repay(loan_id, body, request, write, principal, clock)


@router.post(
    "/loans/{loan_id}/repayments/{transaction_id}/reversal", status_code=201, response_model=LoanEventPublic,
    tags=["loans"],
)  # fmt: skip
def undo_repayment(
    loan_id: IdPath, transaction_id: IdPath, body: RepaymentUndo, request: Request, write: Write,
    principal: LoanOfficer, clock: ClockDep,
) -> Response:  # fmt: skip
    """Take a repayment back (it bounced or was recorded in error), with a reason: its entry is
    reversed on its own date, the repayments after it are re-allocated (reversed and posted
    again in date order), and a loan it had closed opens again. Refused when other money (a
    refund, a write-off, ...) moved after it. Needs an Idempotency-Key. The answer holds the
    repayment taken back and the loan after it."""
    today = clock.today()

    def work(connection, now):
        recorded = loans.undo_repayment(connection, loan_id, transaction_id, reason=body.reason,
                                        user_id=principal.user_id, now=now)  # fmt: skip
        event = _event(connection, recorded, today)
        return Outcome(event, f"loan:{loan_id}", 201, [recorded.entry_id, *recorded.more_entry_ids])

    return perform(request, write, principal, "loan.repayment-undo", work, needs_key=True)


@router.post("/loans/{loan_id}/write-off", status_code=201, response_model=LoanEventPublic, tags=["loans"])
def write_off(
    loan_id: IdPath, body: WriteOffCreate, request: Request, write: Write, principal: Approver, clock: ClockDep
) -> Response:
    """Write an active loan off, with a reason (approvers only): Dr the allowance for loan losses
    as far as it holds, the rest loss on write-off (5200) / Cr the loan's receivable for the
    principal outstanding; the interest and penalties accrued and not received are reversed
    out of income. The loan is `written_off` for good. Needs an Idempotency-Key."""
    today = clock.today()

    def work(connection, now):
        recorded = loans.write_off_loan(connection, loan_id, on=body.effective_date, reason=body.reason,
                                        today=today, user_id=principal.user_id, now=now)  # fmt: skip
        event = _event(connection, recorded, body.effective_date)
        return Outcome(event, f"loan:{loan_id}", 201, [recorded.entry_id])

    return perform(request, write, principal, "loan.write-off", work, needs_key=True)


@router.post("/loans/{loan_id}/write-off-undo", response_model=LoanPublic, tags=["loans"])
def undo_write_off(
    loan_id: IdPath, body: LoanUndoCreate, request: Request, write: Write, principal: Approver, clock: ClockDep
) -> Response:
    """Undo a write-off, with a reason (approvers only): its entry is reversed on its own date, so
    the principal is back in the loan's receivable and the allowance, loss and income it moved
    are as they were; the write-off no longer counts and the loan is active again (still charged
    off, if it was). A recovery or refund after it: 409 `later_transactions_exist`. Needs an
    Idempotency-Key."""
    return _undo(loan_id, body, request, write, principal, clock, "loan.write-off-undo", loan_charge_off.undo_write_off)


@router.post("/loans/{loan_id}/charge-off", status_code=201, response_model=ChargeOffPublic, tags=["loans"])
def charge_off(
    loan_id: IdPath, body: ChargeOffCreate, request: Request, write: Write, principal: Approver, clock: ClockDep
) -> Response:
    """Charge an active loan off, with a reason from a closed list (approvers only): its
    principal outstanding is recognised as a loss, Dr loan loss expense (5200) / Cr allowance for
    loan losses (1290); the loan's receivable keeps its balance, the loan stays active and
    collectable, repayments still collect, and close of business accrues nothing on it. In the
    portfolio it is class `charged_off` and counts in PAR30 and PAR90. Already charged off: 409
    `loan_charged_off`; no principal owed: 409 `nothing_to_charge_off`. Needs an Idempotency-Key."""
    today = clock.today()

    def work(connection, now):
        done = loan_charge_off.charge_off_loan(connection, loan_id, on=body.effective_date, reason=body.reason,
                                               note=body.note, today=today, user_id=principal.user_id, now=now)
        record = {**done.charge_off, "principal": format_amount(done.charge_off["principal_satang"])}
        answer = ChargeOffPublic.model_validate(
            {"charge_off": record, "loan": _loan_now(connection, done.loan, body.effective_date)}
        )
        return Outcome(answer, f"loan:{loan_id}", 201, [done.entry_id])

    return perform(request, write, principal, "loan.charge-off", work, needs_key=True)


@router.post("/loans/{loan_id}/charge-off-undo", response_model=LoanPublic, tags=["loans"])
def undo_charge_off(
    loan_id: IdPath, body: LoanUndoCreate, request: Request, write: Write, principal: Approver, clock: ClockDep
) -> Response:
    """Undo a charge-off, with a reason (approvers only): its entry is reversed on its own date
    and the loan is no longer charged off; the next close of business accrues what the charge-off
    had stopped. A written-off loan's write-off is undone first (409 `loan_written_off`); not
    charged off: 409 `loan_not_charged_off`. Needs an Idempotency-Key."""
    return _undo(loan_id, body, request, write, principal, clock, "loan.charge-off-undo",
                 loan_charge_off.undo_charge_off)  # fmt: skip


def _undo(loan_id: int, body: LoanUndoCreate, request: Request, write, principal, clock, action: str, call):
    """A route body that undoes a loan event by a reversal entry, through `perform`, with a key."""
    today = clock.today()

    def work(connection, now):
        undone = call(connection, loan_id, reason=body.reason, user_id=principal.user_id, now=now)
        return Outcome(_loan_now(connection, undone.loan, today), f"loan:{loan_id}", entry_ids=[undone.entry_id])

    return perform(request, write, principal, action, work, needs_key=True)


@router.post("/loans/{loan_id}/recoveries", status_code=201, response_model=LoanEventPublic, tags=["loans"])
def recover(
    loan_id: IdPath, body: MoneyMovement, request: Request, write: Write, principal: LoanOfficer, clock: ClockDep
) -> Response:
    """Cash received on a written-off loan: Dr cash / Cr recovery income (4400). The loan stays
    written off; at most what was written off is recovered. Needs an Idempotency-Key."""
    return _recover(loan_id, body, request, write, principal, clock)


@router.post("/loans/{loan_id}/refunds", status_code=201, response_model=LoanEventPublic, tags=["loans"])
def refund(
    loan_id: IdPath, body: MoneyMovement, request: Request, write: Write, principal: LoanOfficer, clock: ClockDep
) -> Response:
    """Pay back an overpayment: Dr overpayments from borrowers (2100) / Cr cash, at most the
    loan's overpayment balance (a closed or written-off loan too). Needs an Idempotency-Key."""
    return _refund(loan_id, body, request, write, principal, clock)


@router.post("/loans/{loan_id}/reschedules", status_code=201, response_model=LoanPublic, tags=["loans"])
def reschedule(
    loan_id: IdPath, body: RescheduleCreate, request: Request, write: Write, principal: LoanOfficer, clock: ClockDep
) -> Response:
    """Reschedule an active loan from a date, with a reason: a new rate, and extra instalments or
    a new instalment (the term follows from it), for the principal scheduled after that date,
    re-levelled. Arrears are folded in: the instalments due by then keep what was paid of them,
    their unpaid principal is scheduled again with the rest and their unpaid interest spread
    over the new instalments (not capitalised), so the loan is no longer past due for them; no
    repayment may then be dated before it. The new schedule is a new version and the old one is
    kept (see `?as_of=` on the schedule)."""
    rate = _optional_rate(body.rate_annual_percent)
    instalment = None if body.instalment_amount is None else parse_amount(body.instalment_amount)
    today = clock.today()

    def work(connection, now):
        loan = loans.reschedule_loan(connection, loan_id, on=body.effective_date, reason=body.reason,
                                     rate_percent=rate, extra_instalments=body.extra_instalments, today=today,
                                     user_id=principal.user_id, now=now, instalment_satang=instalment)  # fmt: skip
        return Outcome(_loan_now(connection, loan, body.effective_date), f"loan:{loan_id}", 201)

    return perform(request, write, principal, "loan.reschedule", work)


@router.post("/loans/{loan_id}/moratoria", status_code=201, response_model=LoanPublic, tags=["loans"])
def moratorium(
    loan_id: IdPath, body: MoratoriumCreate, request: Request, write: Write, principal: LoanOfficer
) -> Response:
    """Suspend principal and interest for a span of dates, with a reason: the instalments due in
    the span owe and accrue nothing and every later one moves as many periods later (whole
    periods: suspension starts at the due date before the span). A new schedule version."""

    def work(connection, now):
        loan = loans.grant_moratorium(connection, loan_id, first_day=body.first_day, last_day=body.last_day,
                                      reason=body.reason, user_id=principal.user_id, now=now)  # fmt: skip
        return Outcome(_loan_now(connection, loan, body.first_day), f"loan:{loan_id}", 201)

    return perform(request, write, principal, "loan.moratorium", work)


@router.post("/loans/{loan_id}/rebates", status_code=201, response_model=LoanEventPublic, tags=["loans"])
def rebate(
    loan_id: IdPath, body: RebateCreate, request: Request, write: Write, principal: Approver, clock: ClockDep
) -> Response:
    """Refund interest to a borrower that repaid well (no days past due on the date), with a
    reason (approvers only): Dr interest income / Cr overpayments from borrowers, or cash. At
    most the interest it has paid. Needs an Idempotency-Key."""
    amount, today = parse_amount(body.amount), clock.today()

    def work(connection, now):
        recorded = loans.rebate(connection, loan_id, amount_satang=amount, on=body.effective_date, reason=body.reason,
                                to_cash=body.to == "cash", today=today, user_id=principal.user_id, now=now)  # fmt: skip
        event = _event(connection, recorded, body.effective_date)
        return Outcome(event, f"loan:{loan_id}", 201, [recorded.entry_id])

    return perform(request, write, principal, "loan.rebate", work, needs_key=True)


@router.post("/loans/{loan_id}/litigation", response_model=LoanPublic, tags=["loans"])
def litigation(
    loan_id: IdPath, body: LitigationUpdate, request: Request, write: Write, principal: LoanOfficer, clock: ClockDep
):  # fmt: skip
    """Mark a loan as in litigation, or no longer, from a date (default the business date), with
    a reason; each is kept, audited, as an event. A rate change for loans meeting a rule leaves
    out the loans in litigation on the day it starts."""
    today = clock.today()

    def work(connection, now):
        loan = loans.set_litigation(connection, loan_id, in_litigation=body.in_litigation, reason=body.reason,
                                    on=body.effective_date or today, today=today, user_id=principal.user_id,
                                    now=now)  # fmt: skip
        return Outcome(LoanPublic.model_validate(loan_body(loan)), f"loan:{loan_id}")

    return perform(request, write, principal, "loan.litigation", work)


@router.post("/loan-products/{product_id}/rate-changes", response_model=RateChangeByRulePublic, tags=["loans"])
def change_rate_by_rule(
    product_id: IdPath, body: RateChangeByRuleCreate, request: Request, write: Write, principal: Approver,
    clock: ClockDep,
) -> Response:  # fmt: skip
    """A new rate from a date for the product's active loans that meet a rule then: at most
    `max_days_past_due` days past due (90: 3 months) and not in litigation, both on that day, as
    CODI did from 1 June 2024 (4 % to 3.5 %, a one-year trial). Each such loan is rescheduled at
    the new rate from that date (a new schedule version); with `ends_on` the rate before returns
    on that day (the instalments keep their level, the last one takes the difference). The
    others keep theirs and are listed with why (`in_arrears`, `in_litigation`)."""
    rule = loans.RateChangeRule(product_id, body.effective_on, loan_rate(body.rate_annual_percent),
                                body.max_days_past_due, body.reason, body.ends_on)  # fmt: skip
    today = clock.today()

    def work(connection, now):
        result = loans.change_rate_by_rule(connection, rule, today=today, user_id=principal.user_id, now=now)
        body_ = {"product_id": product_id, "effective_on": body.effective_on, "ends_on": body.ends_on,
                 "rate_annual_percent": str(rule.rate_percent), **result}  # fmt: skip
        return Outcome(RateChangeByRulePublic.model_validate(body_), f"loan-product:{product_id}")

    return perform(request, write, principal, "loan-product.rate-change", work)


def _loan_now(connection, loan: dict, day: date) -> LoanPublic:
    return LoanPublic.model_validate(loan_body(loan, loans.state(connection, loan, day).figures(day)))


def schedule_views(current: LoanState, day: date) -> list[InstalmentView]:
    """The instalments in force on `day` (the loan disbursed: it has a plan), each with what is paid of it."""
    return instalment_views(current.plan, totals(current.txs, day), day)


@router.get("/loans/{loan_id}/schedule", response_model=SchedulePublic, responses={200: CSV}, tags=["loans"])
def loan_schedule(
    loan_id: IdPath, format: CsvFormatDep, connection: ReadDep, principal: Reader, clock: ClockDep, as_of: AsOf = None
):
    """The instalments in force on a date, with what has been paid of each (oldest first)."""
    loan = visible_loan(connection, loan_id, principal)
    day = as_of or clock.today()
    current = loans.state(connection, loan, day)
    if current.plan is None:
        raise books.not_found("schedule of loan", loan_id)  # fixed at the first disbursement
    views = schedule_views(current, day)
    rows = [
        {"number": v.number, "due_on": v.due_on, "principal": format_amount(v.principal_satang),
         "interest": format_amount(v.interest_satang), "total": format_amount(v.total_satang),
         "principal_paid": format_amount(v.principal_paid_satang),
         "interest_paid": format_amount(v.interest_paid_satang),
         "unpaid": format_amount(v.unpaid_satang), "status": v.status,
         "outstanding_after": format_amount(v.outstanding_after_satang)}
        for v in views
    ]  # fmt: skip
    if format == "csv":
        return csv_response(list(rows[0]), [tuple(r.values()) for r in rows], f"loan-{loan_id}-schedule-{day}.csv")
    plan = current.plan
    return {"loan_id": loan_id, "as_of": day, "amount": format_amount(plan.amount_satang),
            "total_principal": format_amount(sum(i.principal_satang for i in plan.instalments)),
            "total_interest": format_amount(plan.interest_satang), "instalments": rows}  # fmt: skip


@router.get("/loans/{loan_id}/statement", response_model=LoanStatementPublic, responses={200: CSV}, tags=["loans"])
def loan_statement(loan_id: IdPath, format: CsvFormatDep, connection: ReadDep, principal: Reader):
    """Every transaction of the loan with its allocation and the principal outstanding after it;
    a member loan whose product records CODI's part of the rate, its interest split (JSON)."""
    loan = visible_loan(connection, loan_id, principal)
    current: LoanState = loans.state(connection, loan)
    lines = [
        {**transaction_body(row), "transaction_id": row["id"],
         "principal_outstanding": format_amount(line.outstanding_after_satang)}
        for row, line in zip(current.rows, statement_lines(current.txs), strict=True)
    ]  # fmt: skip
    outstanding = format_amount(totals(current.txs).outstanding_satang)
    if format == "csv":
        rows = [tuple(line[name] for name in STATEMENT_COLUMNS) for line in lines]
        return csv_response(STATEMENT_COLUMNS, rows, f"loan-{loan_id}-statement.csv")
    return {"loan_id": loan_id, "lines": lines, "principal_outstanding": outstanding,
            "interest_split": interest_split_body(connection, loan, current)}  # fmt: skip


# --- close of business and the portfolio -------------------------------------------------------


@router.post("/close-of-business", response_model=CloseOfBusinessPublic, tags=["loans"])
def close_of_business(body: CloseOfBusinessCreate, request: Request, write: Write, principal: Admin):
    """Close a business day for every active loan: accrue interest through it, age the loans,
    and stop accruing on non-performing ones (reversing what they had accrued and not received).
    Running it again for the same day changes nothing."""
    return run_close_of_business(request, write, principal, body.day)


def run_close_of_business(request: Request, write, principal: Principal, day: date, progress=None) -> Response:
    """Close of business for `day`, the audited write (the office's page runs it too, with
    `progress`: see `loan_cob.close_of_business`), logged with its figures unless replayed."""
    today, began, done = request.app.state.clock.today(), perf_counter(), []

    def work(connection, now):
        report = loan_cob.close_of_business(connection, day, today=today, user_id=principal.user_id, now=now,
                                            reader=request.app.state.db.read, progress=progress)  # fmt: skip
        done[:] = [report]  # the last attempt's, if a conflict made it run again
        return Outcome(cob_body(report), f"close-of-business:{day}", entry_ids=report.entry_ids)

    answer = perform(request, write, principal, "loan.close-of-business", work)
    if done:  # not a replay
        logs.close_of_business_done(done[0], perf_counter() - began)
    return answer


def cob_body(report: loan_cob.CloseOfBusiness) -> dict:
    return {
        "date": report.day, "loans_processed": report.loans_processed, "loans_accrued": report.loans_accrued,
        "accrued_interest": format_amount(report.accrued_satang), "loans_reversed": report.loans_reversed,
        "reversed_interest": format_amount(report.reversed_satang), "non_performing": report.non_performing,
        "loans_penalised": report.loans_penalised, "penalty_interest": format_amount(report.penalty_satang),
        "loans_reclassified": report.loans_reclassified, "entry_ids": report.entry_ids,
    }  # fmt: skip


@router.get("/portfolio", response_model=PortfolioPublic, tags=["loans"])
def portfolio(
    connection: ReadDep,
    principal: Staff,
    clock: ClockDep,
    as_of: AsOf = None,
    book_id: IdQuery = None,
    buckets: Annotated[str, Query(pattern=r"^[0-9]{1,5}(,[0-9]{1,5}){0,19}$", description="Lower bounds")] = (
        ",".join(map(str, DEFAULT_AGEING_BOUNDS))
    ),
) -> dict:
    """Portfolio quality as of a date: loans with principal outstanding by Bank of Thailand
    class, days-past-due bucket (lower bounds, default 1,31,91,181,366), region, province,
    incubation centre and product, with PAR30 and PAR90."""
    day, bounds = as_of or clock.today(), tuple(int(b) for b in buckets.split(","))
    result = loan_cob.portfolio(connection, day, book_id=book_id, bounds=bounds)
    return portfolio_body(result, day, book_id, loan_cob.group_names(connection, result.groups, book_id))


def _group_line(key: str, line, names: dict) -> dict:
    name_th, name_en = names.get(key, (None, None))
    return {"key": key, "name_th": name_th, "name_en": name_en, "count": line.count,
            "outstanding": format_amount(line.outstanding_satang)}  # fmt: skip


def portfolio_body(result: Portfolio, day: date, book_id: int | None, names: dict[str, dict]) -> dict:
    """The portfolio's figures; a centre's or a product's group also carries its names."""
    groups = {name: [_group_line(key, line, names.get(name, {})) for key, line in sorted(lines.items())]
              for name, lines in result.groups.items()}  # fmt: skip
    return {
        "as_of": day, "book_id": book_id, "count": result.gross.count,
        "gross_outstanding": format_amount(result.gross.outstanding_satang),
        "par30_outstanding": format_amount(result.over_30_satang),
        "par30_percent": str(result.par_percent(result.over_30_satang)),
        "par90_outstanding": format_amount(result.over_90_satang),
        "par90_percent": str(result.par_percent(result.over_90_satang)),
        "charged_off_outstanding": format_amount(result.charged_off_satang), "groups": groups,
    }  # fmt: skip
