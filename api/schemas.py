"""Request and response bodies. Amounts travel as decimal strings of baht ("1500.00") and are
parsed by `ledger.money`, never by pydantic, so a float can never slip into the ledger."""

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from api.personal import valid_national_id
from ledger.accounts import AccountType, BalanceRule
from ledger.calendar import EARLIEST_DATE, LATEST_DATE, parse_client_date
from ledger.charts import BookKind
from ledger.errors import LedgerError
from ledger.parties import PartyKind, Region
from ledger.text import user_name

T = TypeVar("T")
# Most ids are INTEGER keys on PostgreSQL: an id beyond them is unknown, and asking the database
# for it would be an error, not an answer. Entries (and postings) have BIGINT keys.
MAX_ID = 2**31 - 1
MAX_ENTRY_ID = 2**62


def printable(text: str) -> str:
    """Refuse control characters (NUL above all: PostgreSQL cannot store it in text)."""
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        raise ValueError("control characters are not allowed")
    return text


Text = Annotated[str, AfterValidator(printable)]


def client_date(value: object) -> date:
    """A date the client sent, read by the one parser (`ledger.calendar.parse_client_date`); its
    refusal keeps its reason, which `api.problems` puts in the problem+json."""
    try:
        return parse_client_date(value)
    except LedgerError as error:
        raise PydanticCustomError(error.reason.value, "{detail}", {"detail": error.detail}) from None


CLIENT_DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# Every date a client sends, in a body or a query, is a ClientDate (tests/test_dates.py checks
# that no route takes a plain `date`).
ClientDate = Annotated[
    date,
    BeforeValidator(client_date),
    Field(
        description=f"YYYY-MM-DD, Common Era, {EARLIEST_DATE} .. {LATEST_DATE}",
        examples=["2024-06-01"],
        json_schema_extra={"pattern": CLIENT_DATE_PATTERN},
    ),
]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
AmountText = Annotated[str, Field(min_length=1, max_length=30, examples=["1500.00"])]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
EntryIdPath = Annotated[int, Path(ge=1, le=MAX_ENTRY_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def checked_national_id(number: str) -> str:
    if not valid_national_id(number):
        raise ValueError("a Thai identification number is 13 digits ending in its check digit")
    return number


NationalId = Annotated[str, Field(min_length=13, max_length=13), AfterValidator(checked_national_id)]


Province = Annotated[Text, Field(min_length=1, max_length=80)]
District = Annotated[Text, Field(min_length=1, max_length=80, description="The district (อำเภอ) in its province")]
MemberOf = Annotated[Id, Field(description="A member's organisation: a party of a kind people belong to "
                                           "(savings group, housing cooperative, network, community enterprise, "
                                           "welfare fund); only a member has it, and a member must")]
Contact = Annotated[Text, Field(min_length=1, max_length=200)]


class PartyCreate(Strict):
    kind: PartyKind
    name_th: Name
    name_en: Name | None = None
    region: Region | None = None
    province: Province | None = None
    district: District | None = None
    centre_id: Id | None = None
    member_of: MemberOf | None = None
    national_id: NationalId | None = Field(
        None, description="Personal data: the 13-digit Thai identification number, only when needed; "
        "shown in full to admins only, masked (last 4 digits) for every other role",
    )  # fmt: skip
    contact: Contact | None = Field(None, description="Personal data: the contact person's name and telephone")
    known_duplicate: bool = Field(
        False, description="Admins only: the national ID is another party's too, on purpose (audited); "
        "otherwise a national ID another party has is refused (409 duplicate_national_id)",
    )  # fmt: skip


class PartyUpdate(Strict):
    """What changes of a party: only the fields sent; `null` empties an optional one."""

    kind: PartyKind | None = None
    name_th: Name | None = None
    name_en: Name | None = None
    region: Region | None = None
    province: Province | None = None
    district: District | None = None
    centre_id: Id | None = None
    member_of: MemberOf | None = None
    national_id: NationalId | None = Field(None, description="Personal data: as at registration")
    contact: Contact | None = Field(None, description="Personal data: the contact person's name and telephone")

    @model_validator(mode="after")
    def kind_and_thai_name_stay(self) -> "PartyUpdate":
        for name in ("kind", "name_th"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be emptied")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class PartyPublic(BaseModel):
    id: int
    kind: str
    name_th: str
    name_en: str | None
    region: str | None
    province: str | None
    district: str | None
    centre_id: int | None
    member_of: int | None
    created_at: datetime
    national_id: str | None = Field(None, description="Personal data; masked but for admins: *********0708")
    contact: str | None = Field(None, description="Personal data")
    known_duplicate: bool = Field(False, description="An admin registered it with another party's national ID")


class BookCreate(Strict):
    code: Code
    kind: BookKind
    name_th: Name
    name_en: Name | None = None
    party_id: Id | None = None


class BookPublic(BaseModel):
    id: int
    code: str
    kind: str
    name_th: str
    name_en: str | None
    party_id: int | None
    closed_through: date | None
    created_at: datetime


class AccountCreate(Strict):
    code: Code
    name_th: Name
    name_en: Name | None = None
    type: AccountType
    balance_rule: BalanceRule = BalanceRule.none
    parent_id: Id | None = None
    party_id: Id | None = None


class AccountPublic(BaseModel):
    id: int
    book_id: int
    code: str
    name_th: str
    name_en: str | None
    type: str
    balance_rule: str
    parent_id: int | None
    party_id: int | None
    balance: str = Field(description="Current balance in baht, debit positive")
    rolled_up_balance: str | None = Field(None, description="With all sub-accounts (control accounts)")
    posting_count: int


class PostingCreate(Strict):
    account_id: Id
    amount: AmountText = Field(description="Baht, debit positive, credit negative")


DimensionKey = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
DimensionValue = Annotated[Text, Field(min_length=1, max_length=100)]


class EntryCreate(Strict):
    book_id: Id
    effective_date: ClientDate
    kind: Literal["manual", "opening", "adjustment"] = "manual"
    description: Annotated[Text, Field(min_length=1, max_length=500)]
    postings: Annotated[list[PostingCreate], Field(max_length=200)]
    dimensions: Annotated[dict[DimensionKey, DimensionValue], Field(max_length=8)] = {}


class PostingPublic(BaseModel):
    account_id: int
    account_code: str
    amount: str


class EntryPublic(BaseModel):
    id: int
    book_id: int
    effective_date: date
    recorded_at: datetime
    kind: str
    description: str
    reverses_entry_id: int | None
    reversed_by_entry_id: int | None
    dimensions: dict[str, str]
    postings: list[PostingPublic]


class ReversalCreate(Strict):
    date: Literal["today", "original"] = "today"
    description: Annotated[Text, Field(min_length=1, max_length=500)] | None = None


class Balance(BaseModel):
    account_id: int
    as_of: date | None
    balance: str


class StatementLinePublic(BaseModel):
    entry_id: int
    effective_date: date
    description: str
    amount: str
    running_balance: str


class StatementPublic(BaseModel):
    account_id: int
    date_from: date
    date_to: date
    opening_balance: str
    lines: list[StatementLinePublic]
    closing_balance: str
    next_cursor: str | None = None  # the next page's `after`, when paged (`limit`, `after`)


class TrialBalanceLinePublic(BaseModel):
    account_id: int
    code: str
    name_th: str
    name_en: str | None
    type: str
    parent_id: int | None
    debit: str
    credit: str
    rolled_up_balance: str


class TrialBalancePublic(BaseModel):
    book_id: int
    as_of: date | None
    lines: list[TrialBalanceLinePublic]
    total_debit: str
    total_credit: str


class PeriodPublic(BaseModel):
    period: str
    start: date
    end: date
    fiscal_year: int
    closed: bool


def client_month(value: object) -> str:
    """A month the client sent, `YYYY-MM`: its first day is read by the one date parser, so a
    Buddhist Era year is refused as any date's is, with the month it probably meant."""
    if not isinstance(value, str) or not re.fullmatch("[0-9]{4}-(0[1-9]|1[0-2])", value):
        raise PydanticCustomError("malformed_date", "a month is YYYY-MM, like 2024-05; not {shown}",
                                  {"shown": str(value)[:40]})  # fmt: skip
    client_date(f"{value}-01")
    return value


class PeriodClose(Strict):
    period: Annotated[
        str,
        BeforeValidator(client_month),
        Field(examples=["2024-05"], json_schema_extra={"pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}),
    ]


class AuditRecordPublic(BaseModel):
    seq: int
    recorded_at: str
    actor: str
    role: str
    action: str
    target: str
    request_id: str
    idempotency_key: str | None
    request_hash: str
    outcome: str
    entry_ids: list[int]
    content: dict[str, Any] | None = Field(
        description="the content hashes of its entries, in the order of entry_ids (ledger.audit); "
        "none in records written before the chain committed to content"
    )
    previous_hash: str
    hash: str


class DigestPublic(BaseModel):
    seq: int
    hash: str


class VerificationPublic(BaseModel):
    ok: bool
    records_checked: int
    head: DigestPublic
    first_bad_seq: int | None = Field(description="the first audit record that does not hold")
    problem: str | None = Field(description="what is wrong there (the first finding)")
    first_bad_entry: int | None = Field(description="the first entry whose rows differ from what the chain holds")
    first_bad_account: int | None = Field(description="deep: the first account whose stored figures differ")
    problems: list[str] = Field(description="deep: every finding, guards missing included")


class UserCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100, description="Letters (Thai or other), digits and "
                               "`. _ @ -`, without spaces; kept in Unicode NFC"), AfterValidator(user_name)]
    role: Literal["admin", "officer", "approver", "auditor", "enterprise"]
    party_id: Id | None = None
    expires_at: AwareDatetime | None = Field(None, description="When the token stops working; with a UTC offset")
    pages: bool = Field(True, description="A person, who signs in to the pages: the answer (or, for an approving "
                        "role, the token taken after approval) carries a one-time setup code for choosing a "
                        "password at /setup?code=...; false for a machine, which has only its token")


class UserPublic(BaseModel):
    id: int
    name: str
    role: str
    party_id: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class UserCreated(UserPublic):
    token: str = Field(description="Shown once; only its hash is kept")
    setup_code: str | None = Field(None, description="Shown once: the person chooses a password at "
                                   "/setup?code=... within 72 hours; none for a machine")


class AdminCommandPublic(BaseModel):
    id: int
    kind: Literal["user.create", "investment.settings", "welfare.settings"]
    status: Literal["pending", "approved", "rejected", "withdrawn"]
    payload: dict[str, Any] = Field(description="What the command does once approved; never a secret")
    maker_id: int
    made_at: datetime
    checker_id: int | None = Field(description="The second admin, who approved or rejected it")
    checked_at: datetime | None
    target: str | None = Field(description="What its approval made or changed (`user:7`)")
    token_taken_at: datetime | None = Field(description="When the checker took the new user's token")
    href: str = Field(description="The command: a second admin approves it at `{href}/approval`")


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None
