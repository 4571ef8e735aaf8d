"""Request and response bodies of share classes, registers, cap tables, distribution policies,
distributions and the fund's investments.

Amounts are decimal strings of baht parsed by `ledger.money`; percentages are decimal strings
parsed by `ledger.money.parse_rate`. Share counts are whole numbers bounded loosely here and
judged by `ledger.equity`, so zero or negative shares get their own reason."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.schemas import AmountText, ClientDate, Code, Id, Name, Strict, Text

RateText = Annotated[str, Field(min_length=1, max_length=20, examples=["10"], description="Percent")]
Shares = Annotated[int, Field(strict=True, ge=-(10**15), le=10**15)]
Reason = Annotated[Text, Field(min_length=1, max_length=500)]
Note = Annotated[Text, Field(min_length=1, max_length=500)]
RegisterKind = Literal["issue", "payment", "transfer", "buy_back", "cancellation"]
PriceRule = Literal["cost", "par", "carrying_amount", "fixed", "par_plus_retained"]


class ShareClassCreate(Strict):
    code: Code
    name_th: Name
    name_en: Name | None = None
    par_value: AmountText = Field(description="Baht per share")
    votes_per_share: Annotated[int, Field(strict=True, ge=0, le=1000)] = 1


class ShareClassPublic(BaseModel):
    id: int
    enterprise_party_id: int
    code: str
    name_th: str
    name_en: str | None
    par_value: str
    votes_per_share: int
    created_at: datetime


class RegisterEventCreate(Strict):
    kind: RegisterKind
    effective_date: ClientDate
    share_class_id: Id
    shares: Shares = Field(0, description="None for a payment")
    from_party_id: Id | None = Field(None, description="Transfer, buy-back, cancellation: who gives shares up")
    to_party_id: Id | None = Field(None, description="Issue, transfer: who receives them; payment: who pays")
    amount: AmountText | None = Field(
        None, description="Issue: the price committed (default shares x par); payment: paid; buy-back: price"
    )
    paid: AmountText | None = Field(None, description="Issue: paid at once (default the whole price)")
    note: Note | None = None


class RegisterCreate(Strict):
    events: Annotated[list[RegisterEventCreate], Field(min_length=1, max_length=500)]


class RegisterEventPublic(BaseModel):
    id: int
    kind: str
    effective_date: date
    share_class_id: int
    shares: int
    from_party_id: int | None
    to_party_id: int | None
    amount: str
    paid: str
    note: str | None
    entry_id: int | None
    recorded_at: datetime


class RegisterWritten(BaseModel):
    events: list[RegisterEventPublic]
    entry_ids: list[int]


class CapTableLinePublic(BaseModel):
    party_id: int
    share_class_id: int
    shares: int
    committed: str
    paid: str
    unpaid: str
    percent_of_class: str


class CapTableHolderPublic(BaseModel):
    party_id: int
    name_th: str
    nominal: str = Field(description="Shares at par, all classes")
    votes: int
    paid: str
    percent_of_capital: str
    percent_of_votes: str


class ClassTotalPublic(BaseModel):
    share_class_id: int
    shares_issued: int


class CapTablePublic(BaseModel):
    enterprise_party_id: int
    as_of: date
    classes: list[ClassTotalPublic]
    lines: list[CapTableLinePublic]
    holders: list[CapTableHolderPublic]
    total_nominal: str
    total_committed: str
    total_paid: str


class PolicyCreate(Strict):
    effective_from: ClientDate
    reserve_min_percent: RateText = "10"
    dividend_cap_percent: RateText | None = Field("10", description="Percent a year on paid-up capital; null: none")
    holder_cap_percent: RateText | None = Field(None, description="Of the nominal capital; 20 is one fifth")


class PolicyPublic(BaseModel):
    enterprise_party_id: int
    effective_from: date | None = Field(description="Null: no policy set, the cooperative model applies")
    reserve_min_percent: str
    dividend_cap_percent: str | None
    holder_cap_percent: str | None


class Business(Strict):
    party_id: Id
    amount: AmountText = Field(description="Business the member did with the enterprise in the period")


class DistributionCreate(Strict):
    period_start: ClientDate
    period_end: ClientDate
    declared_on: ClientDate
    net_profit: AmountText
    reserve_percent: RateText = "10"
    dividend_rate_percent: RateText | None = Field(
        None, description="Percent a year on paid-up capital, by days held; or give dividend_amount"
    )
    dividend_amount: AmountText | None = Field(
        None, description="An amount to share out by paid-up capital and days held, instead of a rate"
    )
    patronage_refund: AmountText = "0.00"
    business: Annotated[list[Business], Field(max_length=5000)] = []


class DistributionPartPublic(BaseModel):
    holder_party_id: int
    share_class_id: int | None
    kind: str
    weight: int = Field(description="Paid-up satang x days held, or business in satang")
    amount: str


class DistributionPaymentPublic(BaseModel):
    holder_party_id: int
    paid_on: date
    amount: str
    entry_ids: list[int]


class DistributionPublic(BaseModel):
    id: int
    enterprise_party_id: int
    period_start: date
    period_end: date
    declared_on: date
    net_profit: str
    reserve_percent: str
    reserve: str
    dividend_rate_percent: str = Field(description="As declared, or the yearly rate the amount declared comes to")
    declared_dividend: str | None = Field(description="The amount declared to share out; null: declared as a rate")
    dividends: str
    patronage_refunds: str
    retained: str = Field(description="Net profit left in retained earnings")
    entry_ids: list[int]
    parts: list[DistributionPartPublic]
    payments: list[DistributionPaymentPublic]


class DistributionPaymentCreate(Strict):
    paid_on: ClientDate
    holder_party_ids: Annotated[list[Id], Field(min_length=1, max_length=5000)] | None = Field(
        None, description="Default: every holder not yet paid"
    )


class ThresholdCreate(Strict):
    book_id: Id | None = Field(None, description="Default: the fund book")
    approval_threshold: AmountText = Field(description="Purchases above this wait for a second user's approval")


class ThresholdPublic(BaseModel):
    book_id: int
    approval_threshold: str


class PurchaseCreate(Strict):
    shares: Shares
    price: AmountText = Field(description="The whole price paid for the shares")
    effective_date: ClientDate


class InvestmentCreate(PurchaseCreate):
    book_id: Id | None = Field(None, description="Default: the fund book")
    enterprise_party_id: Id
    share_class_id: Id


class ImpairmentCreate(Strict):
    amount: AmountText
    effective_date: ClientDate
    reason: Reason


class ExitBuyer(Strict):
    buyer_party_id: Id | None = Field(None, description="A member buying; null: the enterprise (buy-back)")
    shares: Shares
    price: AmountText = Field(description="What this buyer pays for all its shares")


class ExitCreate(Strict):
    """One buyer (shares, price, buyer_party_id) or several at once (buyers), not both."""

    shares: Shares | None = None
    price: AmountText | None = Field(None, description="What the buyer pays for all the shares sold")
    effective_date: ClientDate
    buyer_party_id: Id | None = Field(None, description="A member buying them; default the enterprise (buy-back)")
    buyers: Annotated[list[ExitBuyer], Field(min_length=1, max_length=100)] | None = Field(
        None, description="Several buyers in one exit, all or none"
    )


class ExitPlanCreate(Strict):
    target_date: ClientDate
    price_rule: PriceRule
    price_per_share: AmountText | None = Field(None, description="For the fixed rule")
    note: Note | None = None


class ExitPlanPublic(BaseModel):
    target_date: date | None
    price_rule: str | None
    price_per_share: str | None
    note: str | None
    indicative_price: str | None = Field(description="The rule applied to the shares held on the date read (as_of)")


class PendingPurchasePublic(BaseModel):
    id: int
    shares: int
    price: str
    effective_date: date
    recorded_by: int
    recorded_at: datetime


class InvestmentFigures(BaseModel):
    as_of: date
    shares: int
    cost: str
    average_cost_per_share: str | None
    impairment: str
    carrying_amount: str
    percent_of_class: str
    percent_of_capital: str
    dividends_declared: str
    dividends_received: str
    realised_gain: str


class InvestmentPublic(BaseModel):
    id: int
    book_id: int
    enterprise_party_id: int
    enterprise_name_th: str | None = None
    region: str | None = None
    province: str | None = None
    centre_id: int | None = None
    share_class_id: int
    status: str
    recorded_at: datetime
    recorded_by: int
    pending_purchase: PendingPurchasePublic | None
    exit_plan: ExitPlanPublic
    figures: InvestmentFigures


class GroupPublic(BaseModel):
    key: str
    count: int
    cost: str
    impairment: str
    carrying_amount: str
    dividends_declared: str
    realised_gain: str


class InvestmentsPublic(BaseModel):
    data: list[InvestmentPublic]
    next_cursor: str | None
    totals: GroupPublic | None = Field(None, description="With group_by: every matching investment, not the page")
    groups: list[GroupPublic] = []


class StatementLinePublic(BaseModel):
    event_id: int
    entry_id: int
    effective_date: date
    kind: str
    shares: int
    amount: str
    cost: str
    impairment: str
    gain: str
    reason: str | None
    shares_after: int
    cost_after: str
    impairment_after: str
    carrying_amount_after: str


class InvestmentStatementPublic(BaseModel):
    investment_id: int
    lines: list[StatementLinePublic]
    figures: InvestmentFigures


class EnterpriseEquityPublic(BaseModel):
    """An enterprise's view of its own register, the fund's investments in it and its dividends."""

    enterprise_party_id: int
    share_classes: list[ShareClassPublic]
    cap_table: CapTablePublic
    investments: list[InvestmentPublic]
    distributions: list[DistributionPublic]
