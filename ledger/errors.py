"""Rejections: the closed list of reasons a request from a user can be refused.

Errors in user data are values with a reason, never crashes. Every refusal raises
`LedgerError(Rejection.X, detail)`; the HTTP layer maps each reason to one status code and a
problem+json body. Bugs of ours are `AssertionError`s, never a `LedgerError`.

    LedgerError
      reason: Rejection   what was wrong, machine-readable
      detail: str         what was wrong, for a person
"""

from enum import StrEnum


class Rejection(StrEnum):
    # malformed input (422)
    malformed_amount = "malformed_amount"
    amount_too_large = "amount_too_large"
    amount_must_not_be_zero = "amount_must_not_be_zero"
    malformed_rate = "malformed_rate"
    too_few_postings = "too_few_postings"
    too_many_postings = "too_many_postings"
    unbalanced_entry = "unbalanced_entry"
    invalid_request = "invalid_request"
    invalid_date_range = "invalid_date_range"
    malformed_date = "malformed_date"  # not an ISO YYYY-MM-DD string, or not a day of the calendar
    date_out_of_range = "date_out_of_range"  # outside ledger.calendar's window of plausible dates
    buddhist_era_year = "buddhist_era_year"  # a Buddhist Era year where the API takes Common Era dates
    invalid_text = "invalid_text"  # text the ledger cannot store (a lone surrogate)
    invalid_member_of = "invalid_member_of"  # a member without its organisation, or member_of where none fits
    balance_out_of_range = "balance_out_of_range"  # an account's balance or month past ledger.money's bound
    unknown_query_parameter = "unknown_query_parameter"  # a query parameter the route does not take
    unsupported_format = "unsupported_format"
    unsupported_language = "unsupported_language"
    invalid_cursor = "invalid_cursor"
    idempotency_key_required = "idempotency_key_required"
    request_too_large = "request_too_large"
    request_timeout = "request_timeout"  # 408: the body did not arrive in time
    duplicate_column = "duplicate_column"  # a CSV header that names a column twice
    too_many_attempts = "too_many_attempts"  # 429: failed authentications, throttled
    # unknown or not yours (404)
    not_found = "not_found"
    # conflicts with state (409)
    account_not_in_book = "account_not_in_book"
    period_closed = "period_closed"
    insufficient_balance = "insufficient_balance"
    already_reversed = "already_reversed"
    idempotency_key_reused = "idempotency_key_reused"
    duplicate = "duplicate"
    duplicate_national_id = "duplicate_national_id"  # another party has it, and no admin said it may
    organisation_has_members = "organisation_has_members"  # its kind may not change to one without members
    period_not_closable = "period_not_closable"
    entry_owned_by_operation = "entry_owned_by_operation"  # undone only by the operation that wrote it
    account_owned_by_operation = "account_owned_by_operation"  # moved only by the operation that keeps it
    # authentication and roles
    unauthenticated = "unauthenticated"
    forbidden = "forbidden"
    # loan terms, schedules and payments (422)
    amount_must_be_positive = "amount_must_be_positive"
    rate_out_of_range = "rate_out_of_range"
    invalid_term = "invalid_term"
    invalid_frequency = "invalid_frequency"
    invalid_grace_periods = "invalid_grace_periods"
    invalid_first_repayment_date = "invalid_first_repayment_date"
    invalid_rounding = "invalid_rounding"
    incompatible_terms = "incompatible_terms"  # two loan settings that do not go together
    invalid_rate_schedule = "invalid_rate_schedule"
    invalid_arrears_settings = "invalid_arrears_settings"
    invalid_allocation_order = "invalid_allocation_order"
    invalid_ageing_buckets = "invalid_ageing_buckets"
    # the loan life cycle: applications (422), approval (403), the loan's state (409)
    insufficient_savings = "insufficient_savings"
    ineligible_borrower = "ineligible_borrower"
    # on-lending to members (ledger.onlend, store.onlend): the organisation's rule and the loan's settings (422)
    exceeds_savings_multiple = "exceeds_savings_multiple"  # more than the rule's multiple of the member's savings
    exceeds_maximum_loan = "exceeds_maximum_loan"  # more than the rule's maximum
    guarantors_required = "guarantors_required"  # fewer member guarantors than the rule asks
    guarantor_not_member = "guarantor_not_member"  # not another member of the same organisation
    invalid_lending_rule = "invalid_lending_rule"
    invalid_codi_rate = "invalid_codi_rate"  # CODI's part of a rate: above it, or not a member product
    invalid_funding_loan = "invalid_funding_loan"  # not CODI's loan to the member's organisation
    date_in_future = "date_in_future"
    same_user_approval = "same_user_approval"
    loan_not_pending_approval = "loan_not_pending_approval"
    loan_not_approved = "loan_not_approved"
    loan_fully_disbursed = "loan_fully_disbursed"
    disbursement_exceeds_amount = "disbursement_exceeds_amount"
    loan_not_disbursed = "loan_not_disbursed"
    loan_closed = "loan_closed"
    loan_written_off = "loan_written_off"
    loan_matured = "loan_matured"
    date_before_last_transaction = "date_before_last_transaction"
    # the second slice of loans: penalties, write-off, recovery, refunds (409 but reason_required)
    nothing_to_write_off = "nothing_to_write_off"
    loan_not_written_off = "loan_not_written_off"
    recovery_exceeds_written_off = "recovery_exceeds_written_off"
    refund_exceeds_overpayment = "refund_exceeds_overpayment"
    reason_required = "reason_required"
    nothing_to_reschedule = "nothing_to_reschedule"
    moratorium_without_due_date = "moratorium_without_due_date"
    not_in_good_standing = "not_in_good_standing"
    rebate_exceeds_interest_paid = "rebate_exceeds_interest_paid"
    # a loan ended before it was (fully) disbursed: rejected, withdrawn, cancelled (409)
    loan_rejected = "loan_rejected"
    loan_withdrawn = "loan_withdrawn"
    loan_cancelled = "loan_cancelled"
    loan_remainder_cancelled = "loan_remainder_cancelled"
    nothing_to_cancel = "nothing_to_cancel"
    # charge-off and undoing a charge-off or a write-off (409)
    loan_charged_off = "loan_charged_off"
    loan_not_charged_off = "loan_not_charged_off"
    nothing_to_charge_off = "nothing_to_charge_off"
    later_transactions_exist = "later_transactions_exist"  # an undo would leave them standing on nothing
    # the tiers: a remittance to CODI (store.remittances)
    loan_not_of_organisation = "loan_not_of_organisation"  # 422: not CODI's loan to this organisation
    remittance_month_mismatch = "remittance_month_mismatch"  # 422: paid on a day outside the month it is for
    reserve_exceeds_remittance = "reserve_exceeds_remittance"  # 422: more from the reserve than is paid
    remittance_exceeds_due = "remittance_exceeds_due"  # 409: CODI would record an overpayment
    loan_not_mirrored = "loan_not_mirrored"  # 409: the organisation's book holds no payable for the loan
    # co-investment: registers, investments, distributions (ledger.equity, store.equity)
    not_an_enterprise = "not_an_enterprise"
    shares_must_be_positive = "shares_must_be_positive"
    paid_exceeds_committed = "paid_exceeds_committed"
    insufficient_shares = "insufficient_shares"
    holder_cap_exceeded = "holder_cap_exceeded"
    fund_shares_through_investments = "fund_shares_through_investments"
    impairment_exceeds_carrying_amount = "impairment_exceeds_carrying_amount"
    reversal_exceeds_impairment = "reversal_exceeds_impairment"
    investment_not_pending_approval = "investment_not_pending_approval"
    investment_purchase_pending = "investment_purchase_pending"
    investment_exited = "investment_exited"
    reserve_below_minimum = "reserve_below_minimum"
    dividend_rate_above_cap = "dividend_rate_above_cap"
    distribution_exceeds_profit = "distribution_exceeds_profit"
    distribution_period_taken = "distribution_period_taken"
    distribution_paid = "distribution_paid"
    # welfare funds: rules and sales (422), their state (409), the administration cap (409)
    no_rule_in_force = "no_rule_in_force"
    overlapping_rules = "overlapping_rules"
    unknown_benefit_type = "unknown_benefit_type"
    invalid_period = "invalid_period"
    settlement_exceeds_owed = "settlement_exceeds_owed"
    matching_exceeds_due = "matching_exceeds_due"
    administration_cap_exceeded = "administration_cap_exceeded"
    rule_already_used = "rule_already_used"
    settlement_advance_used = "settlement_advance_used"  # 409: what a reversal takes back is spent
    refund_exceeds_advance = "refund_exceeds_advance"  # 409: more than the unused advance
    # reports and the year-end close (422; a close's conflicts use period_not_closable (409))
    unknown_dimension = "unknown_dimension"
    fiscal_year_out_of_range = "fiscal_year_out_of_range"
    report_too_large = "report_too_large"
    # admin commands, made by one admin and checked by another (409; checking one's own: same_user_approval)
    command_not_pending = "command_not_pending"  # already approved, rejected or withdrawn
    token_not_available = "token_not_available"  # no user made yet, none to make, or its token already taken
    maker_checker_required = "maker_checker_required"  # the command line seats no third admin
    # members' savings in an organisation's book (409; a party not its member, 422)
    savings_below_minimum = "savings_below_minimum"
    savings_withdrawal_in_arrears = "savings_withdrawal_in_arrears"
    savings_interest_already_posted = "savings_interest_already_posted"
    not_a_member = "not_a_member"
    bad_lines = "bad_lines"  # an all-or-nothing list with lines refused (each named in `errors`): nothing written
    # the pages: dates typed by a person, signing in (422)
    date_unreadable = "date_unreadable"
    date_looks_common_era = "date_looks_common_era"  # d/m/yyyy with a CE year where the pages ask for BE
    setup_code_invalid = "setup_code_invalid"  # unknown, used or expired: the same answer for each
    weak_password = "weak_password"
    wrong_password = "wrong_password"


class LedgerError(Exception):
    """A request refused for a reason of the user's making."""

    def __init__(self, reason: Rejection, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
