"""Bodies and answers of members' savings (api.routes.savings). Amounts are decimal strings of baht."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas import AmountText, ClientDate, Id, Strict

Percent = Annotated[str, Field(min_length=1, max_length=20, examples=["3"], description="Percent a year")]
MAX_BULK_LINES = 10_000


class SavingsRuleUpdate(Strict):
    minimum: AmountText = Field("0.00", description="The balance a member must keep, in baht")
    withdraw_in_arrears: bool = Field(False, description="Whether a member with a loan in arrears may withdraw")
    monthly_deposit: AmountText = Field("0.00", description="The fixed deposit a member makes each month")
    rate_percent: Percent = Field("0", description="Interest (or dividend) on savings, percent a year")


class SavingsRulePublic(BaseModel):
    organisation_id: int
    minimum: str
    withdraw_in_arrears: bool
    monthly_deposit: str
    rate_percent: str


class MovementCreate(Strict):
    member_id: Id
    amount: AmountText
    effective_date: ClientDate


class MovementPublic(BaseModel):
    organisation_id: int
    member_id: int
    amount: str
    effective_date: date
    entry_id: int
    balance: str


class BulkLine(Strict):
    member_id: Id
    amount: AmountText | None = Field(None, description="In baht; the rule's monthly deposit if omitted")


class BulkCreate(Strict):
    effective_date: ClientDate
    deposits: Annotated[list[BulkLine], Field(min_length=1, max_length=MAX_BULK_LINES)]


class BulkPublic(BaseModel):
    organisation_id: int
    recorded: int
    total: str
    entry_ids: list[int]


class MemberSavings(BaseModel):
    member_id: int
    name_th: str
    balance: str
    in_arrears: bool


class SavingsPublic(BaseModel):
    organisation_id: int
    total: str = Field(description="The members' savings control (2200) with its sub-accounts")
    members: list[MemberSavings]


class StatementLinePublic(BaseModel):
    entry_id: int
    effective_date: date
    description: str
    amount: str = Field(description="Positive: a deposit or interest; negative: a withdrawal")
    balance: str


class MemberStatement(BaseModel):
    organisation_id: int
    member_id: int
    date_from: date
    date_to: date
    opening_balance: str
    lines: list[StatementLinePublic]
    closing_balance: str


class InterestCreate(Strict):
    fiscal_year: int = Field(description="Buddhist Era, e.g. 2567 (1 Oct 2023 - 30 Sep 2024)")


class InterestPublic(BaseModel):
    id: int
    organisation_id: int
    fiscal_year: int
    as_of: date
    rate_percent: str
    members: int
    total: str
    entry_ids: list[int]
    recorded_at: datetime
