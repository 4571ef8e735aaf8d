"""Bodies of the statements, ledgers, schedules and year-end closes (JSON). Amounts are decimal
strings of baht; a statement's amounts are in their normal sign (a liability's credit balance is
a positive liability), a trial balance's and a schedule's are signed balances (debit positive)."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.schemas import StatementLinePublic, Strict, Text


class ReportBook(BaseModel):
    id: int
    code: str
    name_th: str
    name_en: str | None
    party_id: int | None


class CutPublic(BaseModel):
    dimension: str
    value: str


class ReportScope(BaseModel):
    """Which books a report covers (several: consolidated), and the cut by dimension, if any."""

    books: list[ReportBook]
    consolidated: bool
    cut: CutPublic | None


class AccountFields(BaseModel):
    account_id: int
    book_id: int
    code: str
    name_th: str
    name_en: str
    type: str
    parent_id: int | None
    party_id: int | None
    level: int


class TreeLinePublic(AccountFields):
    debit: str
    credit: str
    rolled_up_balance: str
    elimination: str | None = None  # consolidated: what the elimination took out of this account


class TrialBalanceReport(ReportScope):
    as_of: date
    fiscal_year: int | None  # the year asked for; as_of is then its last day
    depth: int | None
    account_id: int | None  # the control account drilled down into
    lines: list[TreeLinePublic]
    total_debit: str
    total_credit: str
    inter_book_difference: str | None = None


class PeriodLinePublic(AccountFields):
    opening: str
    movement: str
    closing: str


class PeriodTrialBalanceReport(ReportScope):
    date_from: date
    date_to: date
    lines: list[PeriodLinePublic]
    total_opening: str
    total_movement: str
    total_closing: str


class Pair(BaseModel):
    """An amount for the period, and for the comparative one."""

    amount: str
    prior: str


class SectionLinePublic(Pair):
    code: str
    name_th: str
    name_en: str


class FinancialPositionReport(ReportScope):
    as_of: date
    fiscal_year: int | None  # the year asked for; as_of is then its last day
    prior_as_of: date
    assets: list[SectionLinePublic]
    liabilities: list[SectionLinePublic]
    equity: list[SectionLinePublic]
    unclosed_surplus: Pair  # income less expenses not yet closed into equity
    total_assets: Pair
    total_liabilities: Pair
    total_equity: Pair
    total_liabilities_and_equity: Pair


class IncomeStatementReport(ReportScope):
    date_from: date
    date_to: date
    fiscal_year: int | None
    prior_from: date
    prior_to: date
    income: list[SectionLinePublic]
    expenses: list[SectionLinePublic]
    total_income: Pair
    total_expenses: Pair
    surplus: Pair


class LedgerAccountPublic(BaseModel):
    account_id: int
    book_id: int
    code: str
    name_th: str
    name_en: str
    opening_balance: str
    lines: list[StatementLinePublic]
    closing_balance: str


class GeneralLedgerReport(ReportScope):
    date_from: date
    date_to: date
    accounts: list[LedgerAccountPublic]


class PartyFields(BaseModel):
    party_id: int
    name_th: str
    name_en: str | None
    region: str | None
    province: str | None


class LoanLinePublic(PartyFields):
    loan_id: int
    days_past_due: int
    loan_class: str
    outstanding: str


class ClassTotalPublic(BaseModel):
    loan_class: str
    count: int
    outstanding: str


class AllowancePublic(BaseModel):
    party_id: int
    allowance: str  # a credit balance: negative


class LoansReceivableReport(BaseModel):
    book_id: int
    as_of: date
    lines: list[LoanLinePublic]
    classes: list[ClassTotalPublic]
    allowances: list[AllowancePublic]
    general_allowance: str
    total_outstanding: str
    total_allowance: str
    net: str


class PartyLinePublic(PartyFields):
    balances: dict[str, str]  # by control account code
    net: str


class PartyScheduleReport(BaseModel):
    book_id: int
    as_of: date
    codes: list[str]
    lines: list[PartyLinePublic]
    unassigned: dict[str, str]  # the control accounts' own balances and sub-accounts without a party
    totals: dict[str, str]
    net: str


class YearEndCloseCreate(Strict):
    fiscal_year: int = Field(description="Buddhist Era, e.g. 2567 (1 Oct 2023 - 30 Sep 2024)")


class YearEndReversalCreate(Strict):
    reason: Text = Field(max_length=500)


class YearEndReversalPublic(BaseModel):
    reason: str
    reversed_at: datetime
    reversed_by: int


class CarriedBalance(BaseModel):
    account_id: int
    balance: str


class YearEndClosePublic(BaseModel):
    id: int
    book_id: int
    fiscal_year: int
    closed_through: date
    surplus: str  # income less expenses moved into accumulated surplus
    previous_closed_through: date | None
    closed_at: datetime
    closed_by: int
    entry_ids: list[int]
    reversal: YearEndReversalPublic | None
    carried_forward: list[CarriedBalance]  # the opening balances of the next fiscal year


class ProgrammeCreate(Strict):
    programme: Text = Field(min_length=1, max_length=80)


class ProgrammesPublic(BaseModel):
    party_id: int
    programmes: list[str]
