"""The tables, as SQLModel classes. Alembic migrations create them; tests may `create_all` only
to compare. Every table of one book leads its indexes with `book_id` (the future shard key).

Entries, postings and audit records are append-only; the migrations add triggers that refuse
UPDATE and DELETE, and that refuse an entry whose postings do not balance.
"""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Sequence,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

ENTRY_ID_SEQUENCE = Sequence("entry_id_seq")
# SQLite numbers rows itself only for an INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Party(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    name_th: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=40)
    province: str | None = Field(default=None, max_length=80)
    centre_id: int | None = Field(default=None, foreign_key="party.id")
    created_at: datetime


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=20)
    name_th: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    party_id: int | None = Field(default=None, foreign_key="party.id", index=True)
    closed_through: date | None = None
    created_at: datetime


class PeriodClose(SQLModel, table=True):
    __tablename__ = "period_close"
    book_id: int = Field(foreign_key="book.id", primary_key=True)
    closed_through: date = Field(primary_key=True)
    closed_at: datetime
    closed_by: int = Field(foreign_key="app_user.id")


class Account(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("book_id", "code"),
        UniqueConstraint("id", "book_id", name="uq_account_id_book"),
        CheckConstraint("type IN ('asset','liability','equity','income','expense')", name="ck_account_type"),
        CheckConstraint("balance_rule IN ('none','debit_or_zero','credit_or_zero')", name="ck_account_rule"),
        Index("ix_account_book_party", "book_id", "party_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    book_id: int = Field(foreign_key="book.id")
    code: str = Field(max_length=40)
    name_th: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    type: str = Field(max_length=10)
    balance_rule: str = Field(max_length=20)
    parent_id: int | None = Field(default=None, foreign_key="account.id")
    party_id: int | None = Field(default=None, foreign_key="party.id", index=True)
    created_at: datetime


class AccountBalance(SQLModel, table=True):
    """The current balance of an account: one row to read, kept by a trigger on posting."""

    __tablename__ = "account_balance"
    __table_args__ = (
        CheckConstraint(
            "(balance_rule <> 'debit_or_zero' OR balance_satang >= 0) AND "
            "(balance_rule <> 'credit_or_zero' OR balance_satang <= 0)",
            name="ck_balance_rule",
        ),
        Index("ix_account_balance_book", "book_id", "account_id"),
    )
    account_id: int = Field(foreign_key="account.id", primary_key=True)
    book_id: int = Field(foreign_key="book.id")
    balance_rule: str = Field(max_length=20)
    balance_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    posting_count: int = Field(sa_column=Column(BigInteger, nullable=False))


class AccountMonth(SQLModel, table=True):
    """The movement of an account in one month, kept by a trigger on posting, so that a balance
    as of a past date costs months of history plus one month of postings, not all postings."""

    __tablename__ = "account_month"
    __table_args__ = (Index("ix_account_month_book", "book_id", "month_start"),)
    account_id: int = Field(foreign_key="account.id", primary_key=True)
    month_start: date = Field(primary_key=True)
    book_id: int = Field(foreign_key="book.id")
    movement_satang: int = Field(sa_column=Column(BigInteger, nullable=False))


class Entry(SQLModel, table=True):
    __table_args__ = (
        Index("ix_entry_book_id", "book_id", "id"),
        Index("ix_entry_book_date", "book_id", "effective_date"),
    )
    id: int = Field(sa_column=Column(BigId, ENTRY_ID_SEQUENCE, primary_key=True))
    book_id: int = Field(foreign_key="book.id")
    effective_date: date
    recorded_at: datetime
    kind: str = Field(max_length=40)
    description: str = Field(max_length=500)
    reverses_entry_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("entry.id"), unique=True)
    )
    dimensions: str = Field(default="{}", max_length=2000)  # canonical JSON object
    recorded_by: int = Field(foreign_key="app_user.id")


class Posting(SQLModel, table=True):
    __table_args__ = (
        ForeignKeyConstraint(
            ["entry_id"], ["entry.id"], deferrable=True, initially="DEFERRED", name="fk_posting_entry"
        ),
        ForeignKeyConstraint(["account_id", "book_id"], ["account.id", "account.book_id"], name="fk_posting_account"),
        CheckConstraint("amount_satang <> 0", name="ck_posting_nonzero"),
        Index("ix_posting_entry", "entry_id"),
        Index("ix_posting_account_date", "account_id", "effective_date", "entry_id"),
        Index("ix_posting_book_date", "book_id", "effective_date"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    entry_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    book_id: int
    account_id: int
    effective_date: date
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))


class AppUser(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint("role IN ('admin','officer','approver','auditor','enterprise')", name="ck_user_role"),
        CheckConstraint("(role = 'enterprise') = (party_id IS NOT NULL)", name="ck_user_party"),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: str = Field(max_length=20)
    party_id: int | None = Field(default=None, foreign_key="party.id")
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    key: str = Field(max_length=200, primary_key=True)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str
    created_at: datetime


class AuditRecord(SQLModel, table=True):
    __tablename__ = "audit_record"
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    recorded_at: str = Field(max_length=40)  # ISO 8601 UTC, hashed as stored
    actor: str = Field(max_length=100)
    role: str = Field(max_length=20)
    action: str = Field(max_length=60)
    target: str = Field(max_length=200)
    request_id: str = Field(max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=64)
    outcome: str = Field(max_length=200)
    entry_ids: str  # JSON list
    previous_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The one row every audited write locks, so the chain is appended in order, never forked."""

    __tablename__ = "audit_head"
    id: int = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)
