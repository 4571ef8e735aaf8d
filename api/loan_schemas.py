"""Request and response bodies of loan products, loans, close of business and the portfolio.

Amounts are decimal strings of baht and rates decimal strings of percent a year, both parsed by
`ledger` (`money.parse_amount`, `loans.loan_rate`); whole numbers of periods and days are bounded
loosely here and judged by `ledger.loans.LoanTerms`, so a zero term gets its own reason."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.schemas import AmountText, ClientDate, Code, Id, Name, Strict, Text
from ledger.charge_off import ChargeOffReason
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
    MultipleRounding,
    MultipleScope,
    PenaltyBase,
    Rounding,
)

RateText = Annotated[str, Field(min_length=1, max_length=20, examples=["3.5"], description="Percent a year")]
Count = Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]
Reason = Annotated[Text, Field(min_length=1, max_length=500)]
AccountRole = Literal["cash", "receivable", "interest_receivable", "overpayments", "interest_income", "penalty_income",
                      "penalty_receivable", "allowance", "write_off_expense", "recovery_income"]


ADVANCE_PAYMENT = ("What a payment beyond what is due does: reduce_term (fewer instalments), reduce_instalment "
                   "(lower instalments) or hold_credit (pays the next instalments ahead)")


class RateChangeBody(Strict):
    effective_on: ClientDate
    rate_annual_percent: RateText


class LoanTermsBody(Strict):
    """`ledger.loans.LoanTerms`, with amounts in baht. The rate is given a year or a month, one of the two."""

    rate_annual_percent: RateText | None = None
    rate_monthly_percent: RateText | None = Field(None, description="Instead of rate_annual_percent: percent a month")
    term_instalments: Count
    interest_method: InterestMethod = InterestMethod.declining_balance
    amortization: Amortization = Amortization.equal_instalments
    interest_basis: InterestBasis = InterestBasis.per_period
    repayment_every: Count = 1
    repayment_unit: FrequencyUnit = FrequencyUnit.months
    day_count: DayCount = DayCount.days_365
    rounding: Rounding = Rounding.half_up
    instalment_multiple: AmountText = Field("0.01", description="Instalments rounded to this (1.00: whole baht)")
    multiple_rounding: MultipleRounding = Field(MultipleRounding.up, description="Up to the multiple, or the nearest")
    multiple_applies_to: MultipleScope = MultipleScope.all_instalments
    days_in_month: DaysInMonth = Field(DaysInMonth.actual, description="Daily interest: actual days, or 30E/360")
    flat_interest: FlatInterest = FlatInterest.per_period
    last_instalment: LastInstalment = LastInstalment.takes_residue
    grace_principal_periods: Count = 0
    grace_interest_periods: Count = 0
    deferred_interest: DeferredInterest = DeferredInterest.spread
    interest_free_periods: Count = 0
    arrears_tolerance: AmountText = "0.00"
    overdue_grace_days: Count = 0
    penalty_rate_annual_percent: RateText = "0"
    penalty_from_day: Count = 1
    penalty_on: PenaltyBase = Field(PenaltyBase.overdue_principal, description="What penalty interest is charged on")
    allocation_order: Annotated[list[Component], Field(max_length=3)] = list(DEFAULT_ALLOCATION_ORDER)
    advance_payment: AdvancePayment = Field(AdvancePayment.reduce_term, description=ADVANCE_PAYMENT)
    rate_changes: Annotated[list[RateChangeBody], Field(max_length=100)] = []


class LoanProductCreate(LoanTermsBody):
    book_id: Id
    code: Code
    name_th: Name
    name_en: Name | None = None
    min_savings_percent: RateText = Field("10", description="Savings a group must hold, percent of the amount")
    account_codes: Annotated[dict[AccountRole, Code], Field(description="Override the fund chart's codes")] = {}
    codi_rate_annual_percent: RateText | None = Field(
        None, description="A member loan product (in an organisation's book): of its rate, the part owed to CODI"
    )


class LoanTermsPublic(BaseModel):
    rate_annual_percent: str
    rate_per: str
    rate_monthly_percent: str | None = Field(None, description="The rate a month, when the product quotes it so")
    term_instalments: int
    interest_method: str
    amortization: str
    interest_basis: str
    repayment_every: int
    repayment_unit: str
    first_repayment_on: date | None = None
    day_count: str
    rounding: str
    instalment_multiple: str
    multiple_rounding: str
    multiple_applies_to: str
    days_in_month: str
    flat_interest: str
    last_instalment: str
    grace_principal_periods: int
    grace_interest_periods: int
    deferred_interest: str
    interest_free_periods: int
    arrears_tolerance: str
    overdue_grace_days: int
    penalty_rate_annual_percent: str
    penalty_from_day: int
    penalty_on: str
    allocation_order: list[str]
    advance_payment: str
    rate_changes: list[RateChangeBody]


class LoanProductPublic(BaseModel):
    id: int
    book_id: int
    code: str
    name_th: str
    name_en: str | None
    terms: LoanTermsPublic
    min_savings_percent: str
    accounts: dict[str, int]
    created_at: datetime
    codi_rate_annual_percent: str | None = Field(None, description="Of the rate, the part owed to CODI")


class Guarantor(Strict):
    name: Name
    party_id: Id | None = None
    relationship: Annotated[Text, Field(min_length=1, max_length=100)] | None = None


class LoanCreate(Strict):
    product_id: Id
    borrower_party_id: Id
    amount: AmountText
    savings: AmountText = Field(description="What the group has saved, in baht")
    savings_override_reason: Reason | None = None
    guarantors: Annotated[list[Guarantor], Field(max_length=10)] = []
    purpose: Reason | None = None
    term_instalments: Count | None = Field(None, description="Instalments, if not the product's")
    first_repayment_on: ClientDate | None = None
    advance_payment: AdvancePayment | None = Field(None, description=f"If not the product's. {ADVANCE_PAYMENT}")
    funded_by_loan_id: Id | None = Field(
        None, description="A member loan: CODI's loan to the organisation it is lent out of (none: its own funds)"
    )
    guarantor_member_ids: Annotated[list[Id], Field(max_length=10)] = Field(
        [], description="A member loan: guarantors among the organisation's other members, by party id"
    )


class InterestSplitPublic(BaseModel):
    """A member loan's interest split between CODI and the organisation (`ledger.onlend`): CODI's
    share is interest x codi_rate / rate, half up to the satang; the margin is the rest."""

    rate_annual_percent: str
    codi_rate_annual_percent: str
    charged: str = Field(description="Interest earned so far: collected, and accrued not yet received")
    charged_owed_to_codi: str
    charged_margin: str
    collected: str = Field(description="Interest paid, less rebates")
    collected_owed_to_codi: str
    collected_margin: str


class FiguresPublic(BaseModel):
    as_of: date
    disbursed: str
    undisbursed: str
    principal_outstanding: str
    principal_due: str
    interest_due: str
    penalty_due: str
    total_due: str = Field(description="Due by the end of as_of and unpaid, the instalment due that day included")
    principal_past_due: str = Field(description="Of principal_due, what fell due before as_of: late")
    interest_past_due: str = Field(description="Of interest_due, what fell due before as_of: late")
    total_past_due: str = Field(description="What is late: principal and interest past due, and the penalty")
    interest_receivable: str
    overpaid: str
    days_past_due: int
    loan_class: str
    ageing_bucket: str
    next_due_on: date | None
    next_due_amount: str
    maturity_on: date | None


class LoanPublic(BaseModel):
    id: int
    book_id: int
    product_id: int
    borrower_party_id: int
    amount: str
    term_instalments: int
    first_repayment_on: date | None
    status: str
    savings: str
    savings_override_reason: str | None
    guarantors: list[Guarantor]
    purpose: str | None
    receivable_account_id: int | None
    recorded_by: int
    recorded_at: datetime
    approved_by: int | None
    approved_at: datetime | None
    closed_on: date | None
    accruing: bool
    cob_through: date | None
    in_litigation: bool = False
    litigation_reason: str | None = None
    charged_off_on: date | None = Field(None, description="Charged off from this date (still active, collectable)")
    charge_off_reason: ChargeOffReason | None = None
    closure_reason: str | None = Field(None, description="Why it was rejected, withdrawn or cancelled")
    advance_payment: str | None = Field(None, description="What an advance payment does, if not the product's choice")
    cancelled: str = Field("0.00", description="Of the amount, what was cancelled undisbursed")
    funded_by_loan_id: int | None = Field(None, description="A member loan: the CODI loan it is lent out of")
    figures: FiguresPublic | None = None
    interest_split: InterestSplitPublic | None = Field(None, description="A member loan's, if its product splits")


class LoanEndCreate(Strict):
    reason: Annotated[Text, Field(max_length=150)] | None = Field(None, description="Required: why")


class MoneyMovement(Strict):
    amount: AmountText
    effective_date: ClientDate


class WriteOffCreate(Strict):
    effective_date: ClientDate
    reason: Annotated[Text, Field(max_length=500)] | None = Field(None, description="Required: why it is written off")


class ChargeOffCreate(Strict):
    effective_date: ClientDate
    reason: ChargeOffReason = Field(description="Why, from a closed list")
    note: Annotated[Text, Field(max_length=500)] | None = Field(None, description="Required for reason `other`")


class ChargeOffRecord(BaseModel):
    id: int
    loan_id: int
    effective_date: date
    reason: ChargeOffReason
    note: str | None
    principal: str = Field(description="The principal outstanding recognised as a loss (Dr 5200 / Cr 1290)")
    entry_id: int


class ChargeOffPublic(BaseModel):
    charge_off: ChargeOffRecord
    loan: LoanPublic


class LoanUndoCreate(Strict):
    reason: Reason | None = Field(None, description="Required: why it is undone")


class RepaymentUndo(Strict):
    reason: Reason | None = Field(None, description="Required: why the repayment is taken back")


class RescheduleCreate(Strict):
    effective_date: ClientDate
    reason: Annotated[Text, Field(max_length=150)] | None = Field(None, description="Required: why")
    rate_annual_percent: RateText | None = Field(None, description="The new rate, if it changes")
    extra_instalments: Count = 0
    instalment_amount: AmountText | None = Field(
        None, description="A new instalment (instead of extra instalments): the term becomes the shortest whose "
        "instalments are none of them larger"
    )  # fmt: skip


class MoratoriumCreate(Strict):
    first_day: ClientDate
    last_day: ClientDate
    reason: Annotated[Text, Field(max_length=150)] | None = Field(None, description="Required: why")


class RebateCreate(Strict):
    amount: AmountText
    effective_date: ClientDate
    reason: Annotated[Text, Field(max_length=400)] | None = Field(None, description="Required: why")
    to: Literal["overpayments", "cash"] = Field("overpayments", description="Credit the overpayments, or pay out")


class LitigationUpdate(Strict):
    in_litigation: bool
    effective_date: ClientDate | None = Field(None, description="From which day (default: the business date)")
    reason: Annotated[Text, Field(max_length=500)] | None = Field(None, description="Required: why")


class RateChangeByRuleCreate(Strict):
    effective_on: ClientDate
    rate_annual_percent: RateText
    max_days_past_due: Count = Field(90, description="Loans more days past due keep their rate (90: 3 months)")
    reason: Annotated[Text, Field(max_length=150)] | None = Field(None, description="Required: why")
    ends_on: ClientDate | None = Field(None, description="A trial: on this day the rate before it returns")


class RateChangeByRulePublic(BaseModel):
    product_id: int
    effective_on: date
    ends_on: date | None = None
    rate_annual_percent: str
    changed: list[int]
    skipped: dict[int, str] = Field(
        description="Loans left out, and why: in_litigation or in_arrears on the day the change starts, or a reason"
    )


class LoanTransactionPublic(BaseModel):
    id: int
    loan_id: int
    kind: str
    reason: str | None = None
    effective_date: date
    amount: str
    principal: str
    interest: str
    penalty: str
    overpayment: str
    interest_from_receivable: str
    entry_id: int
    recorded_at: datetime


class LoanEventPublic(BaseModel):
    transaction: LoanTransactionPublic
    loan: LoanPublic


class InstalmentPublic(BaseModel):
    number: int
    due_on: date
    principal: str
    interest: str
    total: str
    principal_paid: str
    interest_paid: str
    unpaid: str
    status: Literal["paid", "overdue", "due", "upcoming"]
    outstanding_after: str = Field(description="Principal outstanding, by the schedule, once this instalment is paid")


class SchedulePublic(BaseModel):
    loan_id: int
    as_of: date
    amount: str = Field(description="Principal of the schedule: what has been disbursed")
    total_principal: str
    total_interest: str
    instalments: list[InstalmentPublic]


class LoanStatementLinePublic(BaseModel):
    transaction_id: int
    entry_id: int
    effective_date: date
    kind: str
    amount: str
    principal: str
    interest: str
    penalty: str
    overpayment: str
    principal_outstanding: str


class LoanStatementPublic(BaseModel):
    loan_id: int
    lines: list[LoanStatementLinePublic]
    principal_outstanding: str
    interest_split: InterestSplitPublic | None = Field(None, description="A member loan's, if its product splits")


class CloseOfBusinessCreate(Strict):
    day: ClientDate = Field(alias="date")


class CloseOfBusinessPublic(BaseModel):
    date: date
    loans_processed: int
    loans_accrued: int
    accrued_interest: str
    loans_reversed: int
    reversed_interest: str
    non_performing: int
    loans_penalised: int = 0
    penalty_interest: str = "0.00"
    loans_reclassified: int = Field(0, description="Loans whose Bank of Thailand class changed")
    entry_ids: list[int]


class PortfolioLinePublic(BaseModel):
    key: str = Field(description="The class, bucket, region or province; a centre's party id; a product's code")
    name_th: str | None = Field(None, description="A centre's or a product's name (none: no centre)")
    name_en: str | None = None
    count: int
    outstanding: str


class PortfolioPublic(BaseModel):
    as_of: date
    book_id: int | None
    count: int
    gross_outstanding: str
    par30_outstanding: str
    par30_percent: str
    par90_outstanding: str
    par90_percent: str
    charged_off_outstanding: str = Field(description="Of the gross, charged off (counted in PAR30 and PAR90)")
    groups: dict[str, list[PortfolioLinePublic]] = Field(
        description="By class (a Bank of Thailand class, or charged_off), bucket (days past due), region, province, "
        "centre and product"
    )


class LendingRuleUpdate(Strict):
    """An organisation's own rule for lending to its members; a part left out does not limit."""

    savings_multiple: RateText | None = Field(None, description="A loan at most this many times the member's savings")
    maximum_loan: AmountText | None = Field(None, description="A loan at most this much, in baht")
    guarantors_required: Annotated[int, Field(strict=True, ge=0, le=10)] = Field(
        0, description="Guarantors among the organisation's other members"
    )


class LendingRulePublic(BaseModel):
    organisation_id: int
    savings_multiple: str | None
    maximum_loan: str | None
    guarantors_required: int
    updated_at: datetime
    updated_by: int
