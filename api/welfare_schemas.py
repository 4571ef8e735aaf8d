"""Request and response bodies of welfare funds: contribution rules, sales and their import,
settlements, member and matching contributions, benefits, administration costs, and the reads.

Amounts are decimal strings of baht and rates decimal strings of percent, parsed by `ledger`
(`money.parse_amount`, `money.parse_rate`). A benefit type is taken as text and judged by
`ledger.welfare.benefit_type`, so an unknown type gets its own reason."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas import AmountText, ClientDate, Id, Name, Strict, Text
from ledger.welfare import Channel, Frequency, MatchingKind, MatchingSource, Payment

Percent = Annotated[str, Field(min_length=1, max_length=20, examples=["2.5"], description="Percent")]
Reason = Annotated[Text, Field(min_length=1, max_length=500)]
Reference = Annotated[Text, Field(min_length=1, max_length=200)]
# A member number or the fund's own file reference, never a name or an ID card number (PDPA).
BeneficiaryRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$", examples=["M-0042"])]


class RuleCreate(Strict):
    enterprise_party_id: Id
    fund_party_id: Id
    rate_percent: Percent
    channel: Channel | None = Field(None, description="None: every channel without a rule of its own")
    effective_from: ClientDate
    effective_to: ClientDate | None = Field(None, description="The last day it applies; none: until further notice")


class RuleEnd(Strict):
    effective_to: ClientDate


class RulePublic(BaseModel):
    id: int
    enterprise_party_id: int
    fund_party_id: int
    rate_percent: str
    channel: str | None
    effective_from: date
    effective_to: date | None
    created_at: datetime


class ProductLine(Strict):
    product: Name
    quantity: Annotated[int, Field(ge=1, le=1_000_000_000)] = 1
    amount: AmountText


class SaleCreate(Strict):
    enterprise_party_id: Id
    effective_date: ClientDate
    channel: Channel
    amount: AmountText
    payment: Payment = Field(Payment.cash, description="cash: Dr cash; credit: Dr trade receivables")
    description: Reason | None = None
    lines: Annotated[list[ProductLine], Field(max_length=100, description="Their amounts sum to the sale's")] = []
    allow_zero_contribution: bool = Field(
        False, description="Record the sale without a contribution rule in force; it then contributes nothing"
    )


class ProductLinePublic(BaseModel):
    product: str
    quantity: int
    amount: str


class SaleReversalPublic(BaseModel):
    effective_date: date
    entry_ids: list[int]


class SalePublic(BaseModel):
    id: int
    enterprise_party_id: int
    fund_party_id: int | None
    rule_id: int | None
    effective_date: date
    channel: str
    payment: str
    amount: str
    rate_percent: str | None
    contribution: str = Field(description="rate x amount, rounded half-up once")
    advance_applied: str = Field(description="Of the contribution, settled from an advance when recorded")
    settled: str
    outstanding: str
    description: str | None
    lines: list[ProductLinePublic]
    enterprise_entry_id: int
    fund_entry_id: int | None
    reversal: SaleReversalPublic | None
    recorded_at: datetime


class SaleReversalCreate(Strict):
    effective_date: ClientDate | None = Field(None, description="Default: the business date (Bangkok)")
    reason: Reason


class ImportRejection(BaseModel):
    line: int
    reason: str
    detail: str


class ImportedSale(BaseModel):
    line: int
    sale_id: int


class ImportPublic(BaseModel):
    recorded: int
    replayed: int
    rejected: list[ImportRejection]
    sales: list[ImportedSale]


class SettlementCreate(Strict):
    enterprise_party_id: Id
    fund_party_id: Id
    amount: AmountText
    effective_date: ClientDate
    advance: bool = Field(False, description="Hold what exceeds the sales owed against later sales")
    reference: Reference | None = None


class AllocationPublic(BaseModel):
    sale_id: int
    amount: str


class SettlementReversalCreate(Strict):
    effective_date: ClientDate | None = Field(None, description="Default: the business date (Bangkok)")
    reason: Reason


class SettlementReversalPublic(BaseModel):
    effective_date: date
    reason: str
    reopened: str = Field(description="Of the settlement, what the sales it paid owe again")
    advance_taken: str = Field(description="Taken back out of the advance: its advance, and what it paid for "
                                           "sales since reversed")  # fmt: skip
    entry_ids: list[int]


class SettlementPublic(BaseModel):
    id: int
    enterprise_party_id: int
    fund_party_id: int
    effective_date: date
    amount: str
    advance: str = Field(description="Of the amount, held against later sales")
    reference: str | None
    allocations: list[AllocationPublic]
    enterprise_entry_id: int
    fund_entry_id: int
    reversal: SettlementReversalPublic | None = None
    recorded_at: datetime


class AdvanceRefundCreate(Strict):
    enterprise_party_id: Id
    fund_party_id: Id
    amount: AmountText
    effective_date: ClientDate
    reference: Reference | None = None


class AdvanceRefundPublic(BaseModel):
    id: int
    enterprise_party_id: int
    fund_party_id: int
    effective_date: date
    amount: str
    reference: str | None
    enterprise_entry_id: int
    fund_entry_id: int
    recorded_at: datetime


class MemberContributionCreate(Strict):
    effective_date: ClientDate
    period_from: ClientDate
    period_to: ClientDate
    frequency: Frequency
    member_count: Annotated[int, Field(ge=1, le=10_000_000)]
    amount: AmountText


class MemberContributionPublic(BaseModel):
    id: int
    fund_party_id: int
    effective_date: date
    period_from: date
    period_to: date
    frequency: str
    member_count: int
    amount: str
    expected: str = Field(description="What the members owed for the period at the fund's daily rate")
    entry_id: int
    recorded_at: datetime


class MatchingCreate(Strict):
    source: MatchingSource
    kind: MatchingKind
    amount: AmountText
    effective_date: ClientDate
    source_party_id: Id | None = None
    reference: Reference | None = None
    through_codi: bool = Field(False, description="The government's money received through CODI: CODI's fund book "
                               "records it too (Dr programme expenses 5400-W<fund> / Cr cash), in the same transaction")
    codi_book_id: Id | None = Field(None, description="CODI's fund book; default: the only book of kind fund")


class MatchingPublic(BaseModel):
    id: int
    fund_party_id: int
    source: str
    source_party_id: int | None
    kind: str
    effective_date: date
    amount: str
    reference: str | None
    entry_id: int
    codi_book_id: int | None = None
    codi_entry_id: int | None = Field(None, description="CODI's own entry, when received through CODI")
    recorded_at: datetime


class MatchingBySource(BaseModel):
    source: str
    due: str
    received: str
    outstanding: str
    received_through_codi: str = Field(description="Of what was received, through CODI: CODI's 5400-W<fund>")


class MatchingPage(BaseModel):
    by_source: list[MatchingBySource]
    data: list[MatchingPublic]
    next_cursor: str | None


class BenefitCreate(Strict):
    benefit_type: Annotated[str, Field(max_length=40, examples=["illness"])]
    beneficiary_ref: BeneficiaryRef
    amount: AmountText
    effective_date: ClientDate


class BenefitPublic(BaseModel):
    id: int
    fund_party_id: int
    benefit_type: str
    beneficiary_ref: str
    effective_date: date
    amount: str
    entry_id: int
    recorded_at: datetime


class AdminCostCreate(Strict):
    amount: AmountText
    effective_date: ClientDate
    description: Reason
    override_reason: Reason | None = Field(None, description="An approver's reason to go over the cap")


class AdminCostPublic(BaseModel):
    id: int
    fund_party_id: int
    effective_date: date
    amount: str
    description: str
    cap: str = Field(description="The cap of the fiscal year when the cost was recorded")
    spent_before: str
    override_reason: str | None
    overridden_by: int | None
    entry_id: int
    recorded_at: datetime


class AdminCapPublic(BaseModel):
    fiscal_year: int
    cap_percent: str
    cap: str
    spent: str
    room: str


class AdminCostsPage(BaseModel):
    cap: AdminCapPublic
    data: list[AdminCostPublic]
    next_cursor: str | None


class FundSettingsUpdate(Strict):
    admin_cap_percent: Percent = "20"
    member_daily: AmountText = Field("1.00", description="What a member pays a day, in baht")


class FundSettingsPublic(BaseModel):
    party_id: int
    admin_cap_percent: str
    member_daily: str


class AmountLine(BaseModel):
    name: str
    amount: str


class EnterpriseAmount(BaseModel):
    enterprise_party_id: int | None = Field(description="None: contributions not recorded as sales")
    amount: str


class FundStatementPublic(BaseModel):
    fund_party_id: int
    date_from: date
    date_to: date
    opening_balance: str = Field(description="Net assets (assets less liabilities) the day before")
    inflows: list[AmountLine]
    total_inflows: str
    sales_contributions_by_enterprise: list[EnterpriseAmount]
    outflows: list[AmountLine]
    total_outflows: str
    benefits_by_type: list[AmountLine]
    other_changes: str = Field(description="What moved the net assets outside income and expense")
    closing_balance: str


class ReceivablePublic(BaseModel):
    enterprise_party_id: int
    outstanding: str
    sales: int
    oldest_sale_on: date
    by_age: dict[str, str] = Field(description="Days since the sale: 0-30, 31-60, 61-90, over 90")


class ReceivablesPublic(BaseModel):
    fund_party_id: int
    as_of: date = Field(description="Amounts and ages at the end of this day; later records left out")
    total: str
    data: list[ReceivablePublic]


class FundSummaryPublic(BaseModel):
    fund_party_id: int | None = Field(description="None: sales that contributed nothing")
    sales_count: int
    sales: str
    contributions: str
    settled: str
    outstanding: str
    paid: str = Field(description="Payments to the fund dated in the period (reversed ones left out)")
    refunded: str = Field(description="Unused advance the fund refunded in the period")
    advance_held: str = Field(description="Paid in advance and not yet used, now")


class SalesSummaryPublic(BaseModel):
    enterprise_party_id: int
    date_from: date
    date_to: date
    by_fund: list[FundSummaryPublic]
    reversed_sales: int


class TotalsRow(BaseModel):
    key: str | int | None
    sales_count: int
    sales: str
    contributions: str


class ProgrammeTotalsPublic(BaseModel):
    date_from: date
    date_to: date
    channel: str | None
    total: TotalsRow
    by_region: list[TotalsRow]
    by_province: list[TotalsRow]
    by_centre: list[TotalsRow] = Field(description="By the enterprise's incubation centre (a party id)")
