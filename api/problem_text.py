"""The words of a problem+json answer in the language the caller asks for (Accept-Language).

The API answers in English unless the request's Accept-Language prefers Thai (`th` ranked above
`en`, or `en` absent). The words come from the pages' gettext catalogs (web/locale, web.i18n),
so one Thai file holds every Thai word the system says.

- `title`: one per rejection reason (TITLES, a closed list like ledger.errors.Rejection itself;
  tests/test_problem_language.py fails on a reason without its title or its Thai).
- `detail`: the few fixed sentences callers meet most (FIXED_DETAILS) are translated. The other
  details are written at some three hundred places with the request's own values (ids, amounts,
  field names, dates) for the developer who wrote the call; they stay in English, word for word
  what the documentation and the logs quote, under a Thai title that says what went wrong.
- `reason`, the machine's name of the problem, never changes with the language.
"""

import re

from ledger.errors import Rejection
from web.i18n import N_, translations

LANGUAGES = ("en", "th")
DEFAULT_LANGUAGE = "en"
INTERNAL_ERROR = "internal_error"

TITLES: dict[str, str] = {
    Rejection.malformed_amount: N_("Malformed amount"),
    Rejection.amount_too_large: N_("Amount too large"),
    Rejection.amount_must_not_be_zero: N_("Amount must not be zero"),
    Rejection.malformed_rate: N_("Malformed rate"),
    Rejection.too_few_postings: N_("Too few postings"),
    Rejection.too_many_postings: N_("Too many postings"),
    Rejection.unbalanced_entry: N_("Unbalanced entry"),
    Rejection.invalid_request: N_("Invalid request"),
    Rejection.invalid_date_range: N_("Invalid date range"),
    Rejection.unknown_query_parameter: N_("Unknown query parameter"),
    Rejection.unsupported_format: N_("Unsupported format"),
    Rejection.unsupported_language: N_("Unsupported language"),
    Rejection.invalid_cursor: N_("Invalid cursor"),
    Rejection.idempotency_key_required: N_("Idempotency key required"),
    Rejection.request_too_large: N_("Request too large"),
    Rejection.request_timeout: N_("Request timeout"),
    Rejection.malformed_date: N_("Malformed date"),
    Rejection.date_out_of_range: N_("Date out of range"),
    Rejection.buddhist_era_year: N_("Buddhist Era year where a Common Era date is expected"),
    Rejection.invalid_text: N_("Text that cannot be stored"),
    Rejection.balance_out_of_range: N_("Balance out of range"),
    Rejection.duplicate_column: N_("Column named twice"),
    Rejection.too_many_attempts: N_("Too many attempts"),
    Rejection.not_found: N_("Not found"),
    Rejection.account_not_in_book: N_("Account not in book"),
    Rejection.period_closed: N_("Period closed"),
    Rejection.insufficient_balance: N_("Insufficient balance"),
    Rejection.already_reversed: N_("Already reversed"),
    Rejection.idempotency_key_reused: N_("Idempotency key reused"),
    Rejection.duplicate: N_("Duplicate"),
    Rejection.duplicate_national_id: N_("Duplicate national id"),
    Rejection.organisation_has_members: N_("Organisation has members"),
    Rejection.invalid_member_of: N_("Invalid membership"),
    Rejection.period_not_closable: N_("Period not closable"),
    Rejection.entry_owned_by_operation: N_("Entry owned by operation"),
    Rejection.account_owned_by_operation: N_("Account owned by operation"),
    Rejection.unauthenticated: N_("Unauthenticated"),
    Rejection.forbidden: N_("Forbidden"),
    Rejection.amount_must_be_positive: N_("Amount must be positive"),
    Rejection.rate_out_of_range: N_("Rate out of range"),
    Rejection.invalid_term: N_("Invalid term"),
    Rejection.invalid_frequency: N_("Invalid frequency"),
    Rejection.invalid_grace_periods: N_("Invalid grace periods"),
    Rejection.invalid_first_repayment_date: N_("Invalid first repayment date"),
    Rejection.invalid_rounding: N_("Invalid rounding"),
    Rejection.incompatible_terms: N_("Incompatible loan settings"),
    Rejection.invalid_rate_schedule: N_("Invalid rate schedule"),
    Rejection.invalid_arrears_settings: N_("Invalid arrears settings"),
    Rejection.invalid_allocation_order: N_("Invalid allocation order"),
    Rejection.invalid_ageing_buckets: N_("Invalid ageing buckets"),
    Rejection.insufficient_savings: N_("Insufficient savings"),
    Rejection.ineligible_borrower: N_("Ineligible borrower"),
    Rejection.exceeds_savings_multiple: N_("More than the member's savings allow"),
    Rejection.exceeds_maximum_loan: N_("More than the organisation's maximum loan"),
    Rejection.guarantors_required: N_("Guarantors required"),
    Rejection.guarantor_not_member: N_("Guarantor is not a member"),
    Rejection.invalid_lending_rule: N_("Invalid lending rule"),
    Rejection.invalid_codi_rate: N_("Invalid CODI rate"),
    Rejection.invalid_funding_loan: N_("Invalid funding loan"),
    Rejection.date_in_future: N_("Date in future"),
    Rejection.same_user_approval: N_("Same user approval"),
    Rejection.loan_not_pending_approval: N_("Loan not pending approval"),
    Rejection.loan_not_approved: N_("Loan not approved"),
    Rejection.loan_fully_disbursed: N_("Loan fully disbursed"),
    Rejection.disbursement_exceeds_amount: N_("Disbursement exceeds amount"),
    Rejection.loan_not_disbursed: N_("Loan not disbursed"),
    Rejection.loan_closed: N_("Loan closed"),
    Rejection.loan_written_off: N_("Loan written off"),
    Rejection.loan_matured: N_("Loan matured"),
    Rejection.date_before_last_transaction: N_("Date before last transaction"),
    Rejection.nothing_to_write_off: N_("Nothing to write off"),
    Rejection.loan_not_written_off: N_("Loan not written off"),
    Rejection.recovery_exceeds_written_off: N_("Recovery exceeds written off"),
    Rejection.refund_exceeds_overpayment: N_("Refund exceeds overpayment"),
    Rejection.reason_required: N_("Reason required"),
    Rejection.nothing_to_reschedule: N_("Nothing to reschedule"),
    Rejection.moratorium_without_due_date: N_("Moratorium without due date"),
    Rejection.not_in_good_standing: N_("Not in good standing"),
    Rejection.rebate_exceeds_interest_paid: N_("Rebate exceeds interest paid"),
    Rejection.loan_rejected: N_("Loan rejected"),
    Rejection.loan_withdrawn: N_("Loan withdrawn"),
    Rejection.loan_cancelled: N_("Loan cancelled"),
    Rejection.loan_remainder_cancelled: N_("Loan remainder cancelled"),
    Rejection.nothing_to_cancel: N_("Nothing to cancel"),
    Rejection.loan_charged_off: N_("Loan charged off"),
    Rejection.loan_not_charged_off: N_("Loan not charged off"),
    Rejection.nothing_to_charge_off: N_("Nothing to charge off"),
    Rejection.later_transactions_exist: N_("Later transactions exist"),
    Rejection.loan_not_of_organisation: N_("Not CODI's loan to this organisation"),
    Rejection.remittance_month_mismatch: N_("Payment date outside the month"),
    Rejection.reserve_exceeds_remittance: N_("More from the reserve than is paid"),
    Rejection.remittance_exceeds_due: N_("Remittance exceeds what is due"),
    Rejection.loan_not_mirrored: N_("Loan not in the organisation's book"),
    Rejection.not_an_enterprise: N_("Not an enterprise"),
    Rejection.shares_must_be_positive: N_("Shares must be positive"),
    Rejection.paid_exceeds_committed: N_("Paid exceeds committed"),
    Rejection.insufficient_shares: N_("Insufficient shares"),
    Rejection.holder_cap_exceeded: N_("Holder cap exceeded"),
    Rejection.fund_shares_through_investments: N_("Fund shares through investments"),
    Rejection.impairment_exceeds_carrying_amount: N_("Impairment exceeds carrying amount"),
    Rejection.reversal_exceeds_impairment: N_("Reversal exceeds impairment"),
    Rejection.investment_not_pending_approval: N_("Investment not pending approval"),
    Rejection.investment_purchase_pending: N_("Investment purchase pending"),
    Rejection.investment_exited: N_("Investment exited"),
    Rejection.reserve_below_minimum: N_("Reserve below minimum"),
    Rejection.dividend_rate_above_cap: N_("Dividend rate above cap"),
    Rejection.distribution_exceeds_profit: N_("Distribution exceeds profit"),
    Rejection.distribution_period_taken: N_("Distribution period taken"),
    Rejection.distribution_paid: N_("Distribution paid"),
    Rejection.no_rule_in_force: N_("No rule in force"),
    Rejection.overlapping_rules: N_("Overlapping rules"),
    Rejection.unknown_benefit_type: N_("Unknown benefit type"),
    Rejection.invalid_period: N_("Invalid period"),
    Rejection.settlement_exceeds_owed: N_("Settlement exceeds owed"),
    Rejection.matching_exceeds_due: N_("Matching exceeds due"),
    Rejection.administration_cap_exceeded: N_("Administration cap exceeded"),
    Rejection.rule_already_used: N_("Rule already used"),
    Rejection.settlement_advance_used: N_("Settlement advance used"),
    Rejection.refund_exceeds_advance: N_("Refund exceeds advance"),
    Rejection.unknown_dimension: N_("Unknown dimension"),
    Rejection.fiscal_year_out_of_range: N_("Fiscal year out of range"),
    Rejection.report_too_large: N_("Report too large"),
    Rejection.command_not_pending: N_("Command not pending"),
    Rejection.token_not_available: N_("Token not available"),
    Rejection.maker_checker_required: N_("Maker checker required"),
    Rejection.savings_below_minimum: N_("Savings below minimum"),
    Rejection.savings_withdrawal_in_arrears: N_("Savings withdrawal in arrears"),
    Rejection.savings_interest_already_posted: N_("Savings interest already posted"),
    Rejection.not_a_member: N_("Not a member"),
    Rejection.bad_lines: N_("Bad lines"),
    Rejection.date_unreadable: N_("Date unreadable"),
    Rejection.date_looks_common_era: N_("Date looks common era"),
    Rejection.setup_code_invalid: N_("Setup code invalid"),
    Rejection.weak_password: N_("Weak password"),
    Rejection.wrong_password: N_("Wrong password"),
    INTERNAL_ERROR: N_("Internal error"),
}

FIXED_DETAILS = (
    N_("a valid bearer token is required"),
    N_("an unexpected error occurred; nothing was recorded"),
    N_("give from and to, or a fiscal_year"),
    N_("give a fiscal_year, or from and to, not both"),
    N_("dimension and value go together"),
    N_("an entry needs at least two postings"),
    N_("Not Found"),
    N_("Method Not Allowed"),
)


def answer_language(accept_language: str) -> str:
    """English, unless the header ranks Thai above English (`th`, `th-TH`; q-values honoured)."""
    ranks: dict[str, tuple[int, int]] = {}
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        weight = _q_thousandths(params)
        if language in LANGUAGES and weight > 0:
            # Equal q-values keep the header's order: the first named wins.
            ranks[language] = max(ranks.get(language, (0, 0)), (weight, -index))
    return "th" if ranks.get("th", (0, 0)) > ranks.get("en", (0, 0)) else DEFAULT_LANGUAGE


_Q_VALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")  # RFC 9110: 0 to 1, three places at most


def _q_thousandths(params: str) -> int:
    """A language's q-value in thousandths: 1000 when it names none, 0 when it cannot be read."""
    name, _, value = params.strip().partition("=")
    if name.strip() != "q":
        return 1000
    value = value.strip()
    if not _Q_VALUE.fullmatch(value):
        return 0
    whole, _, places = value.partition(".")
    return int(whole) * 1000 + int(places.ljust(3, "0"))


def title_of(reason: str, language: str) -> str:
    title = TITLES.get(reason, reason.replace("_", " ").capitalize())
    return translations(language).gettext(title)


def detail_in(detail: str, language: str) -> str:
    """The detail in `language` when it is one of FIXED_DETAILS; else as written."""
    return translations(language).gettext(detail) if detail in FIXED_DETAILS else detail
