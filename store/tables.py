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
    Text,
    UniqueConstraint,
    false,
    text,
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


# --- loans (migration 0004) ---------------------------------------------------------------------
# A loan's figures are re-derived from its schedule versions and loan transactions, both
# append-only (UPDATE and DELETE refused by triggers); the loan row holds its life-cycle state.

LOAN_STATUSES = ("applied", "approved", "active", "closed", "written_off")
LOAN_TX_KINDS = ("disbursement", "repayment", "accrual", "accrual_reversal",
                 "penalty", "write_off", "recovery", "refund", "rebate")  # the last five: migration 0005


class LoanProduct(SQLModel, table=True):
    """A kind of loan: its terms (canonical JSON of `ledger.loans.LoanTerms` fields but the rate
    changes, which are rows of `loan_product_rate`), the savings a group must hold, and the
    accounts of the book that each event posts to (canonical JSON: role -> account id)."""

    __tablename__ = "loan_product"
    __table_args__ = (UniqueConstraint("book_id", "code", name="uq_loan_product_code"),)
    id: int | None = Field(default=None, primary_key=True)
    book_id: int = Field(foreign_key="book.id")
    code: str = Field(max_length=40)
    name_th: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    terms: str = Field(sa_column=Column(Text, nullable=False))
    min_savings_percent: str = Field(max_length=20)  # a Decimal string: "10" is 10 %
    accounts: str = Field(max_length=1000)
    created_at: datetime
    created_by: int = Field(foreign_key="app_user.id")


class LoanProductRate(SQLModel, table=True):
    """From `effective_on`, loans of the product disbursed afterwards run at this yearly rate."""

    __tablename__ = "loan_product_rate"
    product_id: int = Field(foreign_key="loan_product.id", primary_key=True)
    effective_on: date = Field(primary_key=True)
    rate_annual_percent: str = Field(max_length=20)


class Loan(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("amount_satang > 0", name="ck_loan_amount"),
        CheckConstraint("savings_satang >= 0", name="ck_loan_savings"),
        CheckConstraint("term_instalments > 0", name="ck_loan_term"),
        CheckConstraint("days_past_due >= 0", name="ck_loan_days_past_due"),
        CheckConstraint(f"status IN {LOAN_STATUSES!r}".replace('"', "'"), name="ck_loan_status"),
        # four eyes: approved by someone other than who recorded it, and nothing goes further unapproved
        CheckConstraint("approved_by IS NULL OR approved_by <> recorded_by", name="ck_loan_four_eyes"),
        CheckConstraint("status = 'applied' OR approved_by IS NOT NULL", name="ck_loan_approved"),
        Index("ix_loan_book_status", "book_id", "status", "id"),
        Index("ix_loan_book_borrower", "book_id", "borrower_party_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    book_id: int = Field(foreign_key="book.id")
    product_id: int = Field(foreign_key="loan_product.id")
    borrower_party_id: int = Field(foreign_key="party.id")
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    term_instalments: int
    first_repayment_on: date | None = None
    status: str = Field(max_length=20)
    savings_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    savings_override_reason: str | None = Field(default=None, max_length=500)
    guarantors: str = Field(max_length=4000)  # canonical JSON list
    purpose: str | None = Field(default=None, max_length=500)
    receivable_account_id: int | None = Field(default=None, foreign_key="account.id")
    recorded_by: int = Field(foreign_key="app_user.id")
    recorded_at: datetime
    approved_by: int | None = Field(default=None, foreign_key="app_user.id")
    approved_at: datetime | None = None
    closed_on: date | None = None
    # as of the last close of business that reached the loan
    days_past_due: int = 0
    loan_class: str = Field(default="pass", max_length=20)
    accruing: bool = True
    cob_through: date | None = None
    # migration 0005: a loan in court is left out of rate changes for loans meeting a rule
    in_litigation: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    litigation_reason: str | None = Field(default=None, max_length=500)


class LoanSchedule(SQLModel, table=True):
    """One version of a loan's schedule, fixed at a disbursement and never changed."""

    __tablename__ = "loan_schedule"
    __table_args__ = (
        CheckConstraint("version >= 1", name="ck_loan_schedule_version"),
        CheckConstraint("amount_satang > 0", name="ck_loan_schedule_amount"),
        Index("ix_loan_schedule_book", "book_id", "loan_id", "effective_from"),
    )
    loan_id: int = Field(foreign_key="loan.id", primary_key=True)
    version: int = Field(primary_key=True)
    book_id: int = Field(foreign_key="book.id")
    effective_from: date
    disbursed_on: date  # of the first tranche: where the first period starts
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    terms: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON of the loan's LoanTerms
    reason: str = Field(max_length=200)
    created_at: datetime
    created_by: int = Field(foreign_key="app_user.id")


class LoanInstalment(SQLModel, table=True):
    __tablename__ = "loan_instalment"
    __table_args__ = (
        ForeignKeyConstraint(
            ["loan_id", "version"], ["loan_schedule.loan_id", "loan_schedule.version"], name="fk_instalment_schedule"
        ),
        CheckConstraint(
            "number >= 1 AND principal_satang >= 0 AND interest_satang >= 0 AND interest_accrued_satang >= 0 "
            "AND outstanding_after_satang >= 0",
            name="ck_loan_instalment_parts",
        ),
    )
    loan_id: int = Field(primary_key=True)
    version: int = Field(primary_key=True)
    number: int = Field(primary_key=True)
    due_on: date
    principal_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest_accrued_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    outstanding_after_satang: int = Field(sa_column=Column(BigInteger, nullable=False))


class LoanTransaction(SQLModel, table=True):
    """A disbursement, repayment (with its allocation), accrual or accrual reversal, and the
    journal entry that posted it (one close-of-business entry carries many loans' accruals)."""

    __tablename__ = "loan_transaction"
    __table_args__ = (
        CheckConstraint(f"kind IN {LOAN_TX_KINDS!r}".replace('"', "'"), name="ck_loan_tx_kind"),
        CheckConstraint(
            "amount_satang > 0 AND principal_satang >= 0 AND interest_satang >= 0 AND penalty_satang >= 0 "
            "AND overpayment_satang >= 0 AND interest_from_receivable_satang >= 0",
            name="ck_loan_tx_amounts",
        ),
        CheckConstraint(  # every satang allocated exactly once
            "principal_satang + interest_satang + penalty_satang + overpayment_satang = amount_satang",
            name="ck_loan_tx_allocated",
        ),
        CheckConstraint("interest_from_receivable_satang <= interest_satang", name="ck_loan_tx_receivable"),
        CheckConstraint(
            "(kind <> 'disbursement' OR principal_satang = amount_satang) AND "
            "(kind NOT IN ('accrual', 'accrual_reversal') OR interest_satang = amount_satang)",
            name="ck_loan_tx_kind_parts",
        ),
        Index("ix_loan_tx_book_loan", "book_id", "loan_id", "effective_date", "id"),
        Index("ix_loan_tx_entry", "entry_id"),
        # close of business accrues (or reverses) a loan's interest at most once a day
        Index(
            "uq_loan_tx_accrual_day",
            "loan_id",
            "kind",
            "effective_date",
            unique=True,
            sqlite_where=text("kind IN ('accrual', 'accrual_reversal')"),
            postgresql_where=text("kind IN ('accrual', 'accrual_reversal')"),
        ),  # fmt: skip
        CheckConstraint(  # migration 0005: the part each new kind carries
            "(kind <> 'penalty' OR penalty_satang = amount_satang) AND "
            "(kind NOT IN ('recovery') OR principal_satang = amount_satang) AND "
            "(kind <> 'refund' OR overpayment_satang = amount_satang) AND "
            "(kind <> 'rebate' OR principal_satang + penalty_satang = 0)",
            name="ck_loan_tx_event_parts",
        ),
        # close of business charges a loan's penalty at most once a day
        Index(
            "uq_loan_tx_penalty_day",
            "loan_id",
            "kind",
            "effective_date",
            unique=True,
            sqlite_where=text("kind = 'penalty'"),
            postgresql_where=text("kind = 'penalty'"),
        ),  # fmt: skip
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    loan_id: int = Field(foreign_key="loan.id")
    book_id: int = Field(foreign_key="book.id")
    kind: str = Field(max_length=20)
    effective_date: date
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    principal_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    penalty_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    overpayment_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest_from_receivable_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")
    reason: str | None = Field(default=None, max_length=500)  # why (a write-off); migration 0005


class LoanRepaymentReversal(SQLModel, table=True):
    """A repayment re-allocated after a backdated one (migration 0005): its entry reversed by
    `reversal_entry_id` and its amount posted again as `reposted_tx_id`. Append-only; the
    original no longer counts in the loan's figures."""

    __tablename__ = "loan_repayment_reversal"
    __table_args__ = (Index("ix_loan_repayment_reversal_book", "book_id", "loan_id"),)
    original_tx_id: int = Field(sa_column=Column(BigInteger, ForeignKey("loan_transaction.id"), primary_key=True))
    book_id: int = Field(foreign_key="book.id")
    loan_id: int = Field(foreign_key="loan.id")
    reversal_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False, unique=True))
    reposted_tx_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("loan_transaction.id"), nullable=False, unique=True)
    )
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")
