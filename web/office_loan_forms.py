"""The loan forms of the office pages: a loan product's settings, a loan application, a tranche
and a decision's reason, as a person typed them, read into the API's own request bodies.

A form keeps every field as typed (strings), so that a refused form shows them again, with the
idempotency key it was given when it was first shown. Reading answers the API's body
(`LoanProductCreate`, `LoanTermsBody`, `LoanCreate`, `MoneyMovement`) or the fields' messages;
the terms are then judged by the API's own `parse_terms` (ledger.loans.LoanTerms), and a
refusal of the operation is put beside the field it is about (`refusal`). No rule is decided
here: a message only names, in plain words, the rule the ledger applied.
"""

from typing import Annotated, get_args

from fastapi import Depends, Request
from pydantic import ValidationError

from api.loan_schemas import AccountRole, LoanCreate, LoanProductCreate, LoanTermsBody, MoneyMovement
from api.routes.loans import parse_terms
from ledger.calendar import THAI_DIGITS
from ledger.errors import LedgerError, Rejection
from ledger.loans import (
    DEFAULT_ALLOCATION_ORDER,
    AdvancePayment,
    Amortization,
    Component,
    DayCount,
    DaysInMonth,
    DeferredInterest,
    FlatInterest,
    FrequencyUnit,
    InterestBasis,
    InterestMethod,
    LastInstalment,
    LoanTerms,
    MultipleRounding,
    MultipleScope,
    PenaltyBase,
    RatePer,
    Rounding,
    Schedule,
    schedule,
)
from ledger.money import format_amount, parse_amount
from web.forms import message, new_key, read_amount, read_date
from web.i18n import N_
from web.loan_forms import MAX_TYPED, read_rate

RATE_CHANGE_ROWS = 3
GUARANTOR_ROWS = 2
ACCOUNT_ROLES = get_args(AccountRole)
ACCOUNT_ROLE_NAMES = {
    "cash": N_("Cash at bank"), "receivable": N_("Loans receivable (control account)"),
    "interest_receivable": N_("Interest receivable"), "overpayments": N_("Overpayments from borrowers"),
    "interest_income": N_("Interest income"), "penalty_income": N_("Penalty interest income"),
    "penalty_receivable": N_("Penalty interest receivable"), "allowance": N_("Allowance for loan losses"),
    "write_off_expense": N_("Loss on loans written off"), "recovery_income": N_("Recoveries of loans written off"),
}  # fmt: skip
# Each choice of the terms, the ledger's value with its words.
CHOICES = {
    "rate_per": ((RatePer.year, N_("percent a year")), (RatePer.month, N_("percent a month"))),
    "interest_method": (
        (InterestMethod.declining_balance, N_("On the balance still owed (declining balance)")),
        (InterestMethod.flat, N_("On the amount lent, every period (flat)")),
    ),
    "amortization": (
        (Amortization.equal_instalments, N_("The same total every instalment")),
        (Amortization.equal_principal, N_("The same principal every instalment, interest on top")),
    ),
    "interest_basis": (
        (InterestBasis.per_period, N_("Each period carries an equal share of the yearly rate")),
        (InterestBasis.daily, N_("On the actual days of each period")),
    ),
    "repayment_unit": (
        (FrequencyUnit.months, N_("months")), (FrequencyUnit.weeks, N_("weeks")),
        (FrequencyUnit.days, N_("days")), (FrequencyUnit.years, N_("years")),
    ),  # fmt: skip
    "day_count": (
        (DayCount.days_365, N_("365 days (the Thai practice)")), (DayCount.actual, N_("Actual: 365 or 366 days")),
        (DayCount.days_360, N_("360 days")), (DayCount.days_364, N_("364 days (52 weeks)")),
    ),  # fmt: skip
    "days_in_month": (
        (DaysInMonth.actual, N_("Actual days of the month")),
        (DaysInMonth.days_30, N_("30 days a month (a month end counts as the 30th)")),
    ),
    "rounding": ((Rounding.half_up, N_("Half a satang up")), (Rounding.half_even, N_("Half a satang to even"))),
    "multiple_rounding": (
        (MultipleRounding.up, N_("Up to the multiple (the last instalment is smaller)")),
        (MultipleRounding.half_up, N_("To the nearest multiple, half up")),
        (MultipleRounding.half_even, N_("To the nearest multiple, half to even")),
    ),
    "multiple_applies_to": (
        (MultipleScope.all_instalments, N_("Every instalment")),
        (MultipleScope.level_instalment, N_("The level instalment only (other parts exact to the satang)")),
    ),
    "last_instalment": (
        (LastInstalment.takes_residue, N_("The last instalment takes what is left")),
        (LastInstalment.near_level, N_("Adjust the instalment so the last one is close to the others")),
    ),
    "flat_interest": (
        (FlatInterest.per_period, N_("Worked out for each period")),
        (FlatInterest.whole_loan, N_("Worked out once for the whole loan, in equal parts")),
    ),
    "penalty_on": (
        (PenaltyBase.overdue_principal, N_("Overdue principal")),
        (PenaltyBase.overdue_principal_and_interest, N_("Overdue principal and interest")),
    ),
    "deferred_interest": (
        (DeferredInterest.spread, N_("Spread over the instalments after the grace")),
        (DeferredInterest.first_instalment, N_("All with the first instalment after the grace")),
    ),
    "advance_payment": (
        (AdvancePayment.reduce_term, N_("Reduces the principal: fewer instalments, none larger")),
        (AdvancePayment.reduce_instalment, N_("Reduces the principal: smaller instalments, the same term")),
        (AdvancePayment.hold_credit, N_("Pays the next instalments ahead; the schedule stays")),
    ),
}
COMPONENT_NAMES = {Component.penalty: N_("Penalty interest"), Component.interest: N_("Interest"),
                   Component.principal: N_("Principal")}  # fmt: skip
COUNTS = ("term_instalments", "repayment_every", "grace_principal_periods", "grace_interest_periods",
          "interest_free_periods", "overdue_grace_days", "penalty_from_day")  # fmt: skip
RATES = ("rate_annual_percent", "penalty_rate_annual_percent")
AMOUNTS = ("instalment_multiple", "arrears_tolerance")
RATE_CHANGE_FIELDS = tuple(f"rate-change-{n}-{part}" for n in range(1, RATE_CHANGE_ROWS + 1) for part in ("on", "rate"))
TERM_FIELDS = (*RATES, *COUNTS, *AMOUNTS, *CHOICES, *(f"allocation-{n}" for n in range(1, 4)), *RATE_CHANGE_FIELDS)
PRODUCT_FIELDS = ("key", "book_id", "code", "name_th", "name_en", "min_savings_percent", "preview_amount",
                  "preview_on", *TERM_FIELDS, *(f"account-{role}" for role in ACCOUNT_ROLES))  # fmt: skip
APPLICATION_FIELDS = ("key", "product_id", "borrower_party_id", "amount", "savings", "savings_override_reason",
                      "purpose", "term_instalments", "first_repayment_on", "advance_payment",
                      *(f"guarantor-{n}-{part}" for n in range(1, GUARANTOR_ROWS + 1)
                        for part in ("name", "relationship", "party_id")))  # fmt: skip

COUNT_MESSAGE = N_("Write a whole number, like 12.")
# A refusal of the ledger, beside the field it is about; a refusal naming one of several
# fields in its detail (`grace_interest_periods must be ...`) goes beside that one.
REFUSALS = {
    Rejection.invalid_term: ("term_instalments", N_("From 1 to 1,200 instalments, over at most 50 years.")),
    Rejection.invalid_frequency: ("repayment_every", N_("Repay every 1 to 366 days, weeks, months or years.")),
    Rejection.invalid_grace_periods: ("grace_principal_periods",
                                      N_("Grace periods must be fewer than the instalments.")),  # fmt: skip
    Rejection.invalid_rounding: ("instalment_multiple", N_("Round instalments to 0.01 to 1,000.00 baht.")),
    Rejection.incompatible_terms: ("interest_method", N_("These settings do not go together: 30-day months need a "
                                                         "year of 360, 364 or 365 days; interest for the whole loan "
                                                         "needs flat interest; bringing the last instalment close "
                                                         "needs the same total every instalment on the balance "
                                                         "still owed.")),  # fmt: skip
    Rejection.invalid_rate_schedule: ("rate-change-1-on",
                                      N_("Rate changes need dates in order, each with a rate from 0 to 100 percent.")),
    Rejection.invalid_arrears_settings: ("overdue_grace_days", N_("Days from 0 to 3,660 (the first penalty day: "
                                                                  "from 1).")),  # fmt: skip
    Rejection.invalid_allocation_order: ("allocation-1", N_("Name penalty, interest and principal once each.")),
    Rejection.duplicate: ("code", N_("A product with this code exists already. Choose another code.")),
    Rejection.insufficient_savings: ("savings", N_("The group has saved less than the product's share of the "
                                                   "amount. Lower the amount, or write why the fund lends anyway.")),
    Rejection.ineligible_borrower: ("borrower_party_id", N_("The fund lends to groups only: a savings group, a "
                                                            "cooperative, a network or a community enterprise.")),
    Rejection.invalid_first_repayment_date: ("first_repayment_on", N_("The first repayment must come after the "
                                                                      "disbursement, within a year of its usual "
                                                                      "day.")),
    Rejection.amount_must_be_positive: ("amount", N_("The amount must be more than zero.")),
    Rejection.disbursement_exceeds_amount: ("amount", N_("This is more than is left to pay out of the loan.")),
    Rejection.loan_fully_disbursed: ("amount", N_("The whole loan is paid out already.")),
    Rejection.loan_remainder_cancelled: ("amount", N_("What was left of this loan was cancelled: nothing more is "
                                                      "paid out.")),  # fmt: skip
    Rejection.loan_not_approved: ("amount", N_("The loan is not approved yet.")),
    Rejection.date_in_future: ("effective_date", N_("The date cannot be after today.")),
    Rejection.date_before_last_transaction: ("effective_date", N_("The loan's money last moved after this date.")),
    Rejection.period_closed: ("effective_date", N_("The books are closed for this date.")),
    Rejection.idempotency_key_reused: ("key", N_("This form was saved already with other values. Start a new one.")),
}
NAMED_FIELDS = {"arrears_tolerance_satang": "arrears_tolerance", "instalment_multiple_satang": "instalment_multiple",
                **{name: name for name in (*COUNTS, *CHOICES)}}  # fmt: skip


def typed_fields(form, names: tuple[str, ...]) -> dict[str, str]:
    """The form's fields as typed, each cut to a bounded length."""
    return {name: str(form.get(name, ""))[:MAX_TYPED] for name in names}


def blank_product(today_typed: str) -> dict[str, str]:
    """A new product form, with the API's defaults and a new idempotency key."""
    defaults = LoanTermsBody(rate_annual_percent="4", term_instalments=12)
    typed = dict.fromkeys(PRODUCT_FIELDS, "")
    typed |= {name: str(getattr(defaults, name)) for name in (*RATES, *COUNTS, *AMOUNTS)}
    typed |= {name: str(options[0][0]) for name, options in CHOICES.items()}  # the first choice is the default
    typed |= {f"allocation-{n}": str(c) for n, c in enumerate(DEFAULT_ALLOCATION_ORDER, start=1)}
    typed |= {"key": new_key(), "min_savings_percent": "10", "rate_annual_percent": "4", "preview_amount": "100,000",
              "preview_on": today_typed}  # fmt: skip
    return typed


def read_count(text: str) -> int | None:
    """A whole number as typed (Thai digits too), or None."""
    typed = text.strip().translate(THAI_DIGITS).replace(",", "")
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) <= 7 else None


def _rate(text: str) -> tuple[str | None, dict | None]:
    """A rate as the API's body writes it (decimal text), or its message."""
    rate, error = read_rate(text)
    return (None, error) if error else (str(rate), None)


def read_baht(text: str) -> tuple[int | None, dict | None]:
    """Baht as typed, zero allowed (savings, a tolerance of none), as satang."""
    typed = text.strip().translate(THAI_DIGITS).replace(",", "")
    try:
        return parse_amount(typed), None
    except LedgerError:
        return None, message(N_("Write the amount in baht, like 1,500.00 or 1500."))


def read_terms(typed: dict[str, str]) -> tuple[LoanTermsBody | None, LoanTerms | None, list[tuple[str, dict]]]:
    """The terms the form sets, as the API's body and as the ledger's `LoanTerms`, or messages."""
    values, errors = _term_values(typed)
    if errors:
        return None, None, errors
    body = LoanTermsBody(**values)
    try:
        return body, parse_terms(body), []
    except LedgerError as error:
        return None, None, [refusal(error) or ("rate_annual_percent", message(error.detail))]


def _term_values(typed: dict[str, str]) -> tuple[dict, list[tuple[str, dict]]]:
    values: dict = {}
    errors: list[tuple[str, dict]] = []
    for name in COUNTS:
        values[name] = read_count(typed[name])
        errors += [(name, message(COUNT_MESSAGE))] if values[name] is None else []
    for name, reader in ((n, _rate) for n in RATES):
        values[name], error = reader(typed[name])
        errors += [(name, error)] if error else []
    for name in AMOUNTS:
        satang, error = read_baht(typed[name])
        values[name] = None if error else format_amount(satang)
        errors += [(name, error)] if error else []
    for name, options in CHOICES.items():
        values[name] = typed[name] or str(options[0][0])  # a form from before the choice: its default
        if values[name] not in {str(value) for value, _ in options}:
            errors.append((name, message(N_("Choose one."))))
    if values.pop("rate_per") == RatePer.month:
        values["rate_monthly_percent"] = values.pop("rate_annual_percent")
    values["allocation_order"] = [typed[f"allocation-{n}"] for n in range(1, 4)]
    if sorted(values["allocation_order"]) != sorted(str(c) for c in Component):
        errors.append(("allocation-1", message(REFUSALS[Rejection.invalid_allocation_order][1])))
    values["rate_changes"] = _rate_changes(typed, errors)
    return values, errors


def _rate_changes(typed: dict[str, str], errors: list) -> list[dict]:
    changes = []
    for n in range(1, RATE_CHANGE_ROWS + 1):
        on_text, rate_text = typed[f"rate-change-{n}-on"], typed[f"rate-change-{n}-rate"]
        if not (on_text.strip() or rate_text.strip()):
            continue
        on, on_error = read_date(on_text)
        rate, rate_error = _rate(rate_text)
        errors += [(f"rate-change-{n}-on", on_error)] if on_error else []
        errors += [(f"rate-change-{n}-rate", rate_error)] if rate_error else []
        changes.append({"effective_on": on, "rate_annual_percent": rate})
    return changes


def read_product(typed: dict[str, str]) -> tuple[LoanProductCreate | None, list[tuple[str, dict]]]:
    """The product the form asks for (POST /v1/loan-products' body), or the fields' messages."""
    terms_body, _terms, errors = read_terms(typed)
    savings, error = _rate(typed["min_savings_percent"])
    errors += [("min_savings_percent", error)] if error else []
    book_id = read_count(typed["book_id"])
    errors += [] if book_id else [("book_id", message(N_("Choose the book the product lends from.")))]
    if errors:
        return None, errors
    codes = {role: typed[f"account-{role}"].strip() for role in ACCOUNT_ROLES if typed[f"account-{role}"].strip()}
    fields = {**terms_body.model_dump(), "book_id": book_id, "code": typed["code"].strip(),
              "name_th": typed["name_th"].strip(), "name_en": typed["name_en"].strip() or None,
              "min_savings_percent": savings, "account_codes": codes}  # fmt: skip
    try:
        return LoanProductCreate(**fields), []
    except ValidationError as invalid:
        return None, _invalid_fields(invalid, PRODUCT_MESSAGES)


PRODUCT_MESSAGES = {
    "code": N_("Write a short code of letters and digits, like LIVELIHOOD-2567."),
    "name_th": N_("Write the product's Thai name, in at most 200 letters."),
    "name_en": N_("The English name may have at most 200 letters."),
    "account_codes": N_("Write an account's code, like 1100, or leave it empty."),
}


def _invalid_fields(invalid: ValidationError, messages: dict[str, str]) -> list[tuple[str, dict]]:
    errors = []
    for problem in invalid.errors():
        name = str(problem["loc"][0])
        if name == "account_codes" and len(problem["loc"]) > 1:
            errors.append((f"account-{problem['loc'][1]}", message(messages[name])))
        else:
            errors.append((name, message(messages.get(name, N_("This cannot be used here.")))))
    return errors


def refusal(error: LedgerError) -> tuple[str, dict] | None:
    """The field and message of an operation's refusal the person can put right, else None."""
    found = REFUSALS.get(error.reason)
    if found is None:
        return _not_found(error) if error.reason == Rejection.not_found else None
    named = error.detail.split(" ", 1)[0]
    return NAMED_FIELDS.get(named, found[0]), message(found[1])


def _not_found(error: LedgerError) -> tuple[str, dict] | None:
    """An account code of a product's form that the book's chart lacks."""
    for role in ACCOUNT_ROLES:
        if f"(for {role})" in error.detail:
            return f"account-{role}", message(N_("The book has no account with this code."))
    return None


# --- a loan application ----------------------------------------------------------------------


def blank_application() -> dict[str, str]:
    return {**dict.fromkeys(APPLICATION_FIELDS, ""), "key": new_key()}


def read_application(typed: dict[str, str]) -> tuple[LoanCreate | None, list[tuple[str, dict]]]:
    """The application the form asks for (POST /v1/loans' body), or the fields' messages."""
    errors: list[tuple[str, dict]] = []
    product_id, borrower_id = read_count(typed["product_id"]), read_count(typed["borrower_party_id"])
    errors += [] if product_id else [("product_id", message(N_("Choose a loan product.")))]
    errors += [] if borrower_id else [("borrower_party_id", message(N_("Choose the borrowing group.")))]
    amount, error = read_amount(typed["amount"])
    errors += [("amount", error)] if error else []
    savings, error = read_baht(typed["savings"])
    errors += [("savings", error)] if error else []
    term = read_count(typed["term_instalments"]) if typed["term_instalments"].strip() else None
    if typed["term_instalments"].strip() and term is None:
        errors.append(("term_instalments", message(COUNT_MESSAGE)))
    first, error = read_date(typed["first_repayment_on"]) if typed["first_repayment_on"].strip() else (None, None)
    errors += [("first_repayment_on", error)] if error else []
    advance = typed["advance_payment"] or None  # empty: the product's choice
    if advance is not None and advance not in {str(value) for value, _ in CHOICES["advance_payment"]}:
        errors.append(("advance_payment", message(N_("Choose one."))))
    guarantors = _guarantors(typed, errors)
    if errors:
        return None, errors
    fields = {"product_id": product_id, "borrower_party_id": borrower_id, "amount": format_amount(amount),
              "savings": format_amount(savings),
              "savings_override_reason": typed["savings_override_reason"].strip() or None,
              "purpose": typed["purpose"].strip() or None, "term_instalments": term, "first_repayment_on": first,
              "advance_payment": advance, "guarantors": guarantors}  # fmt: skip
    try:
        return LoanCreate(**fields), []
    except ValidationError as invalid:
        return None, _invalid_fields(invalid, APPLICATION_MESSAGES)


APPLICATION_MESSAGES = {
    "savings_override_reason": N_("Write the reason in at most 500 letters."),
    "purpose": N_("Write the purpose in at most 500 letters."),
    "guarantors": N_("Write each guarantor's name, in at most 200 letters."),
}


def _guarantors(typed: dict[str, str], errors: list) -> list[dict]:
    found = []
    for n in range(1, GUARANTOR_ROWS + 1):
        name, relationship, party = (typed[f"guarantor-{n}-{part}"].strip() for part in ("name", "relationship",
                                                                                           "party_id"))  # fmt: skip
        if not (name or relationship or party):
            continue
        if not name:
            errors.append((f"guarantor-{n}-name", message(N_("Write the guarantor's name."))))
        party_id = read_count(party) if party else None
        if party and not party_id:
            errors.append((f"guarantor-{n}-party_id", message(COUNT_MESSAGE)))
        found.append({"name": name, "relationship": relationship or None, "party_id": party_id})
    return found


# --- a tranche, and a decision's reason ----------------------------------------------------------


def read_tranche(typed: dict[str, str]) -> tuple[MoneyMovement | None, list[tuple[str, dict]]]:
    """A tranche to pay out (POST /v1/loans/{id}/disbursements' body), or the fields' messages."""
    amount, amount_error = read_amount(typed["amount"])
    on, date_error = read_date(typed["effective_date"])
    errors = [(name, e) for name, e in (("amount", amount_error), ("effective_date", date_error)) if e]
    return (None, errors) if errors else (MoneyMovement(amount=format_amount(amount), effective_date=on), [])


MAX_DECISION_REASON = 150  # the API's bound on a rejection's, a withdrawal's or a cancellation's reason


def read_reason(text: str) -> tuple[str | None, dict | None]:
    reason = text.strip()
    if not reason or len(reason) > MAX_DECISION_REASON:
        return None, message(N_("Write the reason, in at most 150 letters."))
    return reason, None


# --- what the forms' pages read --------------------------------------------------------------


async def _product_typed(request: Request) -> dict[str, str]:
    return typed_fields(await request.form(), PRODUCT_FIELDS)


async def _application_typed(request: Request) -> dict[str, str]:
    return typed_fields(await request.form(), APPLICATION_FIELDS)


ProductTyped = Annotated[dict[str, str], Depends(_product_typed)]
ApplicationTyped = Annotated[dict[str, str], Depends(_application_typed)]


def preview_schedule(typed: dict[str, str]) -> tuple[Schedule | None, list[tuple[str, dict]]]:
    """The schedule the typed terms give the typed example amount disbursed on the typed day:
    `ledger.loans.schedule`, the function a disbursement fixes a loan's schedule with."""
    _body, terms, errors = read_terms(typed)
    amount, error = read_amount(typed["preview_amount"])
    errors += [("preview_amount", error)] if error else []
    on, error = read_date(typed["preview_on"])
    errors += [("preview_on", error)] if error else []
    if errors:
        return None, errors
    try:
        return schedule(amount, terms, on), []
    except LedgerError as error:
        return None, [refusal(error) or ("preview_on", message(N_("No schedule can start on this date.")))]
