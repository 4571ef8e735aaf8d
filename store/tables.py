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

from ledger.parties import PartyKind

ENTRY_ID_SEQUENCE = Sequence("entry_id_seq")
# SQLite numbers rows itself only for an INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# Marks on columns (Column.info), read by dumps, exports and answers (migration 0009): a `secret`
# never leaves the database; `personal` data is personal under Thailand's PDPA, and a `masked`
# field of it is shown in full to admins only.
SECRET = {"secret": True}
PERSONAL = {"personal": True}
MASKED = {"personal": True, "masked": True}


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index over the rows that meet `where` only, in both dialects."""
    return Index(name, *columns, unique=unique, sqlite_where=text(where), postgresql_where=text(where))


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


PARTY_KINDS = tuple(kind.value for kind in PartyKind)


class Party(SQLModel, table=True):
    __table_args__ = (
        # migration 0017: one party a national ID, unless an admin marked it a known duplicate
        partial_index("uq_party_national_id", "national_id", where="NOT known_duplicate", unique=True),
        # migration 0023: the kinds of ledger.parties, and a member (only) belongs to an organisation
        CheckConstraint(_in("kind", PARTY_KINDS), name="ck_party_kind"),
        CheckConstraint("(kind = 'member') = (member_of IS NOT NULL)", name="ck_party_member_of"),
        Index("ix_party_member_of", "member_of"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    name_th: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=40)
    province: str | None = Field(default=None, max_length=80)
    district: str | None = Field(default=None, max_length=80)
    centre_id: int | None = Field(default=None, foreign_key="party.id")
    member_of: int | None = Field(default=None, foreign_key="party.id")
    created_at: datetime
    national_id: str | None = Field(default=None, max_length=13, sa_column_kwargs={"info": MASKED})
    contact: str | None = Field(default=None, max_length=200, sa_column_kwargs={"info": PERSONAL})
    known_duplicate: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


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
    token_hash: str = Field(max_length=64, unique=True, sa_column_kwargs={"info": SECRET})
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None  # the user: token and page sessions
    language: str | None = Field(default=None, max_length=2)  # the pages' language: th (NULL) or en
    token_revoked_at: datetime | None = None  # its token only (migration 'parties'); a new token clears it


# Signing in to the pages (migration 0013). These tables are `secret` whole: a dump leaves them
# out, so a restored database has no passwords, setup codes or sessions (people get new codes).
class UserPassword(SQLModel, table=True):
    __tablename__ = "user_password"
    __table_args__ = ({"info": SECRET},)
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    password_hash: str = Field(max_length=200)
    set_at: datetime


class SetupCode(SQLModel, table=True):
    __tablename__ = "setup_code"
    __table_args__ = ({"info": SECRET},)
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    user_id: int = Field(foreign_key="app_user.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"
    __table_args__ = ({"info": SECRET},)
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    user_id: int = Field(foreign_key="app_user.id", index=True)
    id_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None


class IdempotencyRecord(SQLModel, table=True):
    """A write's answer kept under its key. `party_id` names the party whose personal data the
    answer holds, if any (migration 0017): the party's export and erasure reach it by that."""

    __tablename__ = "idempotency_record"
    __table_args__ = (
        partial_index("ix_idempotency_record_party", "party_id", where="party_id IS NOT NULL"),
    )
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    key: str = Field(max_length=200, primary_key=True)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str
    created_at: datetime
    party_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("party.id", name="fk_idempotency_record_party"))
    )


class AuditRecord(SQLModel, table=True):
    __tablename__ = "audit_record"
    __table_args__ = (
        # migration 0020: the trail filtered by person or by action, latest first
        Index("ix_audit_record_actor", "actor", "seq"),
        Index("ix_audit_record_action", "action", "seq"),
    )
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
    content: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # ledger.audit; 0015 on
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

LOAN_STATUSES = ("applied", "approved", "active", "closed", "written_off", "rejected", "withdrawn", "cancelled")
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
    # migration 0025: of the rate a member product charges, the part owed to CODI (a Decimal string)
    codi_rate_annual_percent: str | None = Field(default=None, max_length=20)


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
        CheckConstraint(
            "status IN ('applied', 'rejected', 'withdrawn') OR approved_by IS NOT NULL", name="ck_loan_approved"
        ),
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
    guarantors: str = Field(max_length=4000, sa_column_kwargs={"info": PERSONAL})  # canonical JSON list
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
    # migration 0012: why a loan was rejected, withdrawn or cancelled (closed_on: the business date)
    closure_reason: str | None = Field(default=None, max_length=500)
    # migration 0022: charged off from this business date, and why (`loan_charge_off` keeps each)
    charged_off_on: date | None = None
    charge_off_reason: str | None = Field(default=None, max_length=40)
    # migration 0024: what a payment beyond what is due does, if not the product's choice
    advance_payment: str | None = Field(default=None, max_length=20)
    # migration 0025: a member loan lent out of CODI's loan to the organisation (null: its own funds)
    funded_by_loan_id: int | None = Field(default=None, foreign_key="loan.id")


class OrganisationLendingRule(SQLModel, table=True):
    """An organisation's own rule for lending to its members (`ledger.onlend.LendingRule`);
    migration 0025. An organisation without a row lends without limits of its own."""

    __tablename__ = "organisation_lending_rule"
    __table_args__ = (
        CheckConstraint("maximum_loan_satang IS NULL OR maximum_loan_satang > 0", name="ck_lending_rule_maximum"),
        CheckConstraint("guarantors_required BETWEEN 0 AND 10", name="ck_lending_rule_guarantors"),
    )
    organisation_id: int = Field(foreign_key="party.id", primary_key=True)
    savings_multiple: str | None = Field(default=None, max_length=20)  # a Decimal string: "3" is 3 times
    maximum_loan_satang: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    guarantors_required: int = 0
    updated_at: datetime
    updated_by: int = Field(foreign_key="app_user.id")


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
    # migration 0024: the repayment whose advance made the version; it drops out with the repayment
    repayment_tx_id: int | None = Field(default=None, foreign_key="loan_transaction.id")


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
        Index("ix_loan_instalment_due", "due_on"),  # migration 0019: what falls due in the next days
    )
    loan_id: int = Field(primary_key=True)
    version: int = Field(primary_key=True)
    number: int = Field(primary_key=True)
    due_on: date
    principal_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest_accrued_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    outstanding_after_satang: int = Field(sa_column=Column(BigInteger, nullable=False))


class LoanMonth(SQLModel, table=True):
    """A loan as the latest close of business of a month left it (migration 0019): its principal
    outstanding and days past due at the end of that day. One row a loan and month, replaced by
    each later close of business of the month; a figure kept for reading, re-derivable from the
    loan's schedule and transactions like `account_month` from the postings."""

    __tablename__ = "loan_month"
    __table_args__ = (
        CheckConstraint("outstanding_satang >= 0 AND days_past_due >= 0", name="ck_loan_month_figures"),
        # covers what the dashboard reads of a day's rows: no visit to the table or the loan
        Index("ix_loan_month_day", "month_start", "closed_on", "borrower_party_id", "days_past_due",
              "outstanding_satang", "loan_id"),
    )
    loan_id: int = Field(foreign_key="loan.id", primary_key=True)
    month_start: date = Field(primary_key=True)
    closed_on: date  # the business day whose close of business wrote the row
    book_id: int = Field(foreign_key="book.id")
    borrower_party_id: int = Field(foreign_key="party.id")  # the loan's, so that a cut needs no join
    outstanding_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    days_past_due: int
    # migration 0022: charged off at the end of that day (off the performing book)
    charged_off: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


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
        partial_index(
            "uq_loan_tx_accrual_day", "loan_id", "kind", "effective_date",
            where="kind IN ('accrual', 'accrual_reversal')", unique=True,
        ),  # fmt: skip
        CheckConstraint(  # migration 0005: the part each new kind carries
            "(kind <> 'penalty' OR penalty_satang = amount_satang) AND "
            "(kind NOT IN ('recovery') OR principal_satang = amount_satang) AND "
            "(kind <> 'refund' OR overpayment_satang = amount_satang) AND "
            "(kind <> 'rebate' OR principal_satang + penalty_satang = 0)",
            name="ck_loan_tx_event_parts",
        ),
        # close of business charges a loan's penalty at most once a day
        partial_index(
            "uq_loan_tx_penalty_day", "loan_id", "kind", "effective_date", where="kind = 'penalty'", unique=True
        ),
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


class LoanRepaymentUndo(SQLModel, table=True):
    """A repayment taken back (migration 0010): it bounced or was recorded in error. Its entry is
    reversed by `reversal_entry_id`; the reason is kept. Append-only; the repayment no longer
    counts in the loan's figures."""

    __tablename__ = "loan_repayment_undo"
    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="ck_loan_repayment_undo_reason"),
        Index("ix_loan_repayment_undo_book", "book_id", "loan_id"),
    )
    original_tx_id: int = Field(sa_column=Column(BigInteger, ForeignKey("loan_transaction.id"), primary_key=True))
    book_id: int = Field(foreign_key="book.id")
    loan_id: int = Field(foreign_key="loan.id")
    reversal_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False, unique=True))
    reason: str = Field(max_length=500)
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


CHARGE_OFF_REASONS = ("prolonged_arrears", "group_dissolved", "disaster", "fraud", "litigation", "other")


class LoanChargeOff(SQLModel, table=True):
    """A loan charged off (migration 0022): from `effective_date` off the performing book, with
    a reason from `ledger.charge_off.ChargeOffReason`, and the entry that recognised its
    principal outstanding as a loss (Dr 5200 / Cr 1290). Append-only; undone by a row of
    `loan_charge_off_undo`."""

    __tablename__ = "loan_charge_off"
    __table_args__ = (
        CheckConstraint("reason IN ({})".format(", ".join(f"'{r}'" for r in CHARGE_OFF_REASONS)),
                        name="ck_loan_charge_off_reason"),
        CheckConstraint("principal_satang > 0", name="ck_loan_charge_off_principal"),
        Index("ix_loan_charge_off_book", "book_id", "loan_id", "effective_date"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    book_id: int = Field(foreign_key="book.id")
    loan_id: int = Field(foreign_key="loan.id")
    effective_date: date
    reason: str = Field(max_length=40)
    note: str | None = Field(default=None, max_length=500)
    principal_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False, unique=True))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class LoanChargeOffUndo(SQLModel, table=True):
    """A charge-off undone (migration 0022): its entry reversed by `reversal_entry_id`, and why.
    Append-only."""

    __tablename__ = "loan_charge_off_undo"
    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="ck_loan_charge_off_undo_reason"),
        Index("ix_loan_charge_off_undo_book", "book_id", "loan_id"),
    )
    charge_off_id: int = Field(sa_column=Column(BigInteger, ForeignKey("loan_charge_off.id"), primary_key=True))
    book_id: int = Field(foreign_key="book.id")
    loan_id: int = Field(foreign_key="loan.id")
    reversal_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False, unique=True))
    reason: str = Field(max_length=500)
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class LoanWriteOffUndo(SQLModel, table=True):
    """A write-off undone (migration 0022): its entry reversed by `reversal_entry_id`, and why;
    the write-off no longer counts in the loan's figures. Append-only."""

    __tablename__ = "loan_write_off_undo"
    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="ck_loan_write_off_undo_reason"),
        Index("ix_loan_write_off_undo_book", "book_id", "loan_id"),
    )
    original_tx_id: int = Field(sa_column=Column(BigInteger, ForeignKey("loan_transaction.id"), primary_key=True))
    book_id: int = Field(foreign_key="book.id")
    loan_id: int = Field(foreign_key="loan.id")
    reversal_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False, unique=True))
    reason: str = Field(max_length=500)
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class LoanLitigationEvent(SQLModel, table=True):
    """A loan taken to court, or no longer in litigation, from a date (migration 0022), with
    a reason: what a rate change's rule reads of the loan on its own day. Append-only."""

    __tablename__ = "loan_litigation_event"
    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="ck_loan_litigation_event_reason"),
        Index("ix_loan_litigation_event_loan", "loan_id", "effective_on", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    book_id: int = Field(foreign_key="book.id")
    loan_id: int = Field(foreign_key="loan.id")
    effective_on: date
    in_litigation: bool
    reason: str = Field(max_length=500)
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


# Welfare funds (migration 0007) -----------------------------------------------------------------
# Sales, their reversals, settlements and their allocations to sales, member and matching
# contributions, benefits and administration costs are append-only (UPDATE and DELETE refused by
# triggers); each names the journal entries that posted it. A contribution rule's terms never
# change; only its end date may be set, and no two rules of an enterprise and channel overlap.

WELFARE_CHANNELS = ("market", "online_shop", "retailer")
BENEFIT_TYPES = ("birth", "illness", "death", "old_age", "disability", "scholarship", "disaster")
MATCHING_SOURCES = ("local_authority", "government", "donor")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)  # Python 3.11: no nested quotes in f-strings
    return f"{column} IN ({quoted})"


class WelfareFundSetting(SQLModel, table=True):
    """A welfare fund's own settings; a fund without a row has the defaults of `ledger.welfare`."""

    __tablename__ = "welfare_fund_setting"
    party_id: int = Field(foreign_key="party.id", primary_key=True)
    admin_cap_percent: str = Field(max_length=20)  # a Decimal string: "20" is 20 %
    member_daily_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime
    updated_by: int = Field(foreign_key="app_user.id")


class ContributionRule(SQLModel, table=True):
    __tablename__ = "contribution_rule"
    __table_args__ = (
        CheckConstraint(_one_of("channel", WELFARE_CHANNELS), name="ck_rule_channel"),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="ck_rule_dates"),
        Index("ix_contribution_rule_enterprise", "enterprise_party_id", "channel", "effective_from"),
        Index("ix_contribution_rule_fund", "fund_party_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    enterprise_party_id: int = Field(foreign_key="party.id")
    fund_party_id: int = Field(foreign_key="party.id")
    rate_percent: str = Field(max_length=20)
    channel: str | None = Field(default=None, max_length=20)
    effective_from: date
    effective_to: date | None = None
    created_at: datetime
    created_by: int = Field(foreign_key="app_user.id")


class WelfareSale(SQLModel, table=True):
    __tablename__ = "welfare_sale"
    __table_args__ = (
        CheckConstraint(_one_of("channel", WELFARE_CHANNELS), name="ck_sale_channel"),
        CheckConstraint("payment IN ('cash', 'credit')", name="ck_sale_payment"),
        CheckConstraint("amount_satang > 0 AND contribution_satang >= 0 AND contribution_satang <= amount_satang",
                        name="ck_sale_amounts"),  # fmt: skip
        CheckConstraint("advance_applied_satang >= 0 AND advance_applied_satang <= contribution_satang",
                        name="ck_sale_advance"),  # fmt: skip
        # a contribution comes from a rule and lands in the fund's book; no rule, no contribution
        CheckConstraint("rule_id IS NOT NULL OR contribution_satang = 0", name="ck_sale_rule"),
        CheckConstraint("(contribution_satang = 0) = (fund_entry_id IS NULL)", name="ck_sale_fund_entry"),
        CheckConstraint("(rule_id IS NULL) = (fund_party_id IS NULL)", name="ck_sale_fund"),
        Index("ix_welfare_sale_enterprise", "enterprise_book_id", "effective_date", "id"),
        Index("ix_welfare_sale_fund", "fund_party_id", "enterprise_party_id", "effective_date"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    enterprise_party_id: int = Field(foreign_key="party.id")
    enterprise_book_id: int = Field(foreign_key="book.id")
    fund_party_id: int | None = Field(default=None, foreign_key="party.id")
    rule_id: int | None = Field(default=None, foreign_key="contribution_rule.id")
    effective_date: date
    channel: str = Field(max_length=20)
    payment: str = Field(max_length=10)
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    rate_percent: str | None = Field(default=None, max_length=20)
    contribution_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    advance_applied_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    description: str | None = Field(default=None, max_length=500)
    lines: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # canonical JSON list
    enterprise_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    fund_entry_id: int | None = Field(default=None, sa_column=Column(BigInteger, ForeignKey("entry.id")))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class WelfareSaleReversal(SQLModel, table=True):
    """A sale undone: its entries reversed, and what had been paid for it moved to the advance."""

    __tablename__ = "welfare_sale_reversal"
    __table_args__ = (CheckConstraint("returned_to_advance_satang >= 0", name="ck_sale_reversal_returned"),)
    sale_id: int = Field(sa_column=Column(BigInteger, ForeignKey("welfare_sale.id"), primary_key=True))
    effective_date: date
    reason: str = Field(max_length=500)
    returned_to_advance_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_ids: str = Field(max_length=200)  # JSON list: the reversals, and any move to the advance
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class WelfareSettlement(SQLModel, table=True):
    __tablename__ = "welfare_settlement"
    __table_args__ = (
        CheckConstraint("amount_satang > 0 AND advance_satang >= 0 AND advance_satang <= amount_satang",
                        name="ck_settlement_amounts"),  # fmt: skip
        Index("ix_welfare_settlement_pair", "fund_party_id", "enterprise_party_id", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    enterprise_party_id: int = Field(foreign_key="party.id")
    fund_party_id: int = Field(foreign_key="party.id")
    effective_date: date
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    advance_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    reference: str | None = Field(default=None, max_length=200)
    enterprise_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    fund_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class WelfareAllocation(SQLModel, table=True):
    """Part of a sale's contribution paid: by a settlement, or (settlement_id NULL) from the
    advance when the sale was recorded."""

    __tablename__ = "welfare_allocation"
    __table_args__ = (
        CheckConstraint("amount_satang > 0", name="ck_allocation_amount"),
        Index("ix_welfare_allocation_sale", "sale_id"),
        Index("ix_welfare_allocation_settlement", "settlement_id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    sale_id: int = Field(sa_column=Column(BigInteger, ForeignKey("welfare_sale.id"), nullable=False))
    settlement_id: int | None = Field(default=None, sa_column=Column(BigInteger, ForeignKey("welfare_settlement.id")))
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))


class WelfareMemberContribution(SQLModel, table=True):
    __tablename__ = "welfare_member_contribution"
    __table_args__ = (
        CheckConstraint("frequency IN ('daily', 'monthly', 'yearly')", name="ck_member_frequency"),
        CheckConstraint("member_count > 0 AND amount_satang > 0 AND expected_satang >= 0", name="ck_member_amounts"),
        CheckConstraint("period_to >= period_from", name="ck_member_period"),
        Index("ix_welfare_member_fund", "fund_party_id", "effective_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    fund_party_id: int = Field(foreign_key="party.id")
    effective_date: date
    period_from: date
    period_to: date
    frequency: str = Field(max_length=10)
    member_count: int
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    expected_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class WelfareMatching(SQLModel, table=True):
    __tablename__ = "welfare_matching"
    __table_args__ = (
        CheckConstraint(_one_of("source", MATCHING_SOURCES), name="ck_matching_source"),
        CheckConstraint("kind IN ('due', 'received')", name="ck_matching_kind"),
        CheckConstraint("amount_satang > 0", name="ck_matching_amount"),
        Index("ix_welfare_matching_fund", "fund_party_id", "source", "effective_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    fund_party_id: int = Field(foreign_key="party.id")
    source: str = Field(max_length=20)
    source_party_id: int | None = Field(default=None, foreign_key="party.id")
    kind: str = Field(max_length=10)
    effective_date: date
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    reference: str | None = Field(default=None, max_length=200)
    entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class WelfareBenefit(SQLModel, table=True):
    """A benefit paid; the beneficiary is a reference into the fund's own register, never a name."""

    __tablename__ = "welfare_benefit"
    __table_args__ = (
        CheckConstraint(_one_of("benefit_type", BENEFIT_TYPES), name="ck_benefit_type"),
        CheckConstraint("amount_satang > 0", name="ck_benefit_amount"),
        Index("ix_welfare_benefit_fund", "fund_party_id", "effective_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    fund_party_id: int = Field(foreign_key="party.id")
    benefit_type: str = Field(max_length=20)
    beneficiary_ref: str = Field(max_length=40)
    effective_date: date
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class WelfareAdminCost(SQLModel, table=True):
    """An administration cost, with the cap it was checked against; over the cap only with an
    approver's override and its reason."""

    __tablename__ = "welfare_admin_cost"
    __table_args__ = (
        CheckConstraint("amount_satang > 0 AND cap_satang >= 0 AND spent_before_satang >= 0", name="ck_admin_amounts"),
        CheckConstraint("(override_reason IS NULL) = (overridden_by IS NULL)", name="ck_admin_override"),
        CheckConstraint("override_reason IS NOT NULL OR spent_before_satang + amount_satang <= cap_satang",
                        name="ck_admin_within_cap"),  # fmt: skip
        Index("ix_welfare_admin_fund", "fund_party_id", "effective_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    fund_party_id: int = Field(foreign_key="party.id")
    effective_date: date
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    description: str = Field(max_length=500)
    cap_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    spent_before_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    override_reason: str | None = Field(default=None, max_length=500)
    overridden_by: int | None = Field(default=None, foreign_key="app_user.id")
    entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


# Welfare funds, second part (migration 0011) -----------------------------------------------------
# A settlement undone, an unused advance refunded, and the CODI fund's leg of a government
# matching contribution paid through CODI; all append-only.


class WelfareSettlementReversal(SQLModel, table=True):
    """A settlement undone (recorded in error): its entries reversed; the sales it settled owed
    again; its advance, and what sales it settled and since reversed had returned to the
    advance, taken back out of the advance."""

    __tablename__ = "welfare_settlement_reversal"
    __table_args__ = (
        CheckConstraint("reopened_satang >= 0 AND advance_taken_satang >= 0", name="ck_settlement_reversal_amounts"),
        CheckConstraint("length(trim(reason)) > 0", name="ck_settlement_reversal_reason"),
    )
    settlement_id: int = Field(sa_column=Column(BigInteger, ForeignKey("welfare_settlement.id"), primary_key=True))
    effective_date: date
    reason: str = Field(max_length=500)
    reopened_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    advance_taken_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_ids: str = Field(max_length=200)  # JSON list: the reversals, and any move off the advance
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class WelfareAdvanceRefund(SQLModel, table=True):
    """An unused advance paid back by the fund to the enterprise."""

    __tablename__ = "welfare_advance_refund"
    __table_args__ = (
        CheckConstraint("amount_satang > 0", name="ck_advance_refund_amount"),
        Index("ix_welfare_advance_refund_pair", "fund_party_id", "enterprise_party_id", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    enterprise_party_id: int = Field(foreign_key="party.id")
    fund_party_id: int = Field(foreign_key="party.id")
    effective_date: date
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    reference: str | None = Field(default=None, max_length=200)
    enterprise_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    fund_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class WelfareCodiLeg(SQLModel, table=True):
    """The CODI fund book's entry of a government matching contribution paid through CODI,
    recorded in the same transaction as the welfare fund's receipt."""

    __tablename__ = "welfare_codi_leg"
    matching_id: int = Field(sa_column=Column(Integer, ForeignKey("welfare_matching.id"), primary_key=True))
    codi_book_id: int = Field(foreign_key="book.id")
    entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False, unique=True))


# Year-end ----------------------------------------------------------------------------------------
# Migration 0008. A fiscal year's close, the closing entries it posted, the balances it carried
# forward and its reversal are append-only; a party's programmes are a dimension of the reports.


class YearEndClose(SQLModel, table=True):
    """A book's fiscal year (BE) closed: income less expenses moved into accumulated surplus by
    the closing entries dated `closed_through`, and the period lock the book had before."""

    __tablename__ = "year_end_close"
    __table_args__ = (
        CheckConstraint("fiscal_year BETWEEN 2400 AND 2800", name="ck_year_end_fiscal_year"),
        Index("ix_year_end_close_book", "book_id", "fiscal_year"),
    )
    id: int | None = Field(default=None, primary_key=True)
    book_id: int = Field(foreign_key="book.id")
    fiscal_year: int
    closed_through: date
    surplus_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    previous_closed_through: date | None = None
    closed_at: datetime
    closed_by: int = Field(foreign_key="app_user.id")


class YearEndEntry(SQLModel, table=True):
    __tablename__ = "year_end_entry"
    __table_args__ = (Index("ix_year_end_entry_book", "book_id", "close_id"),)
    entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), primary_key=True))
    close_id: int = Field(foreign_key="year_end_close.id")
    book_id: int = Field(foreign_key="book.id")


class YearEndBalance(SQLModel, table=True):
    """An account's balance carried forward by a close: the opening of the next fiscal year."""

    __tablename__ = "year_end_balance"
    close_id: int = Field(foreign_key="year_end_close.id", primary_key=True)
    account_id: int = Field(foreign_key="account.id", primary_key=True)
    balance_satang: int = Field(sa_column=Column(BigInteger, nullable=False))


class YearEndReversal(SQLModel, table=True):
    __tablename__ = "year_end_reversal"
    __table_args__ = (CheckConstraint("length(trim(reason)) > 0", name="ck_year_end_reversal_reason"),)
    close_id: int = Field(foreign_key="year_end_close.id", primary_key=True)
    book_id: int = Field(foreign_key="book.id")
    reason: str = Field(max_length=500)
    reversed_at: datetime
    reversed_by: int = Field(foreign_key="app_user.id")


class PartyProgramme(SQLModel, table=True):
    __tablename__ = "party_programme"
    __table_args__ = (
        CheckConstraint("length(trim(programme)) > 0", name="ck_party_programme_name"),
        Index("ix_party_programme_programme", "programme", "party_id"),
    )
    party_id: int = Field(foreign_key="party.id", primary_key=True)
    programme: str = Field(max_length=80, primary_key=True)


# Co-investment -----------------------------------------------------------------------------------
# Migration 0006. An enterprise's share classes; its register of holdings events; its distribution
# policies (versions from a date); the distributions declared, their parts and their payments; and
# the fund's investments: a row per position (its life-cycle state and exit plan), its purchases
# (pending until approved when above the admin's threshold) and its events, each naming the entry
# that posted it. Register events, policies, distributions, parts, payments, investment events and
# threshold settings are append-only (UPDATE and DELETE refused by triggers).

REGISTER_EVENT_KINDS = ("issue", "payment", "transfer", "buy_back", "cancellation")
INVESTMENT_EVENT_KINDS = ("purchase", "impairment", "impairment_reversal", "exit", "dividend", "dividend_payment")
INVESTMENT_STATUSES = ("pending", "active", "exited")


class ShareClass(SQLModel, table=True):
    __tablename__ = "share_class"
    __table_args__ = (
        UniqueConstraint("enterprise_party_id", "code", name="uq_share_class_code"),
        CheckConstraint("par_value_satang > 0", name="ck_share_class_par"),
        CheckConstraint("votes_per_share >= 0", name="ck_share_class_votes"),
    )
    id: int | None = Field(default=None, primary_key=True)
    enterprise_party_id: int = Field(foreign_key="party.id")
    code: str = Field(max_length=40)
    name_th: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    par_value_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    votes_per_share: int
    created_at: datetime
    created_by: int = Field(foreign_key="app_user.id")


class RegisterEvent(SQLModel, table=True):
    """An issue, payment, transfer, buy-back or cancellation of shares (`ledger.equity`), and the
    entry it posted in the enterprise's own book, when it keeps one here and money moved."""

    __tablename__ = "register_event"
    __table_args__ = (
        CheckConstraint(_in("kind", REGISTER_EVENT_KINDS), name="ck_register_event_kind"),
        CheckConstraint("shares >= 0 AND amount_satang >= 0 AND paid_satang >= 0", name="ck_register_event_amounts"),
        CheckConstraint(
            "(kind IN ('issue', 'payment') AND to_party_id IS NOT NULL AND from_party_id IS NULL) OR "
            "(kind = 'transfer' AND to_party_id IS NOT NULL AND from_party_id IS NOT NULL "
            "AND to_party_id <> from_party_id) OR "
            "(kind IN ('buy_back', 'cancellation') AND from_party_id IS NOT NULL AND to_party_id IS NULL)",
            name="ck_register_event_parties",
        ),
        CheckConstraint(
            "(kind = 'payment') = (shares = 0) AND (kind <> 'payment' OR amount_satang > 0) AND "
            "(kind <> 'issue' OR paid_satang <= amount_satang) AND (kind = 'issue' OR paid_satang = 0)",
            name="ck_register_event_kind_parts",
        ),
        Index("ix_register_event_enterprise", "enterprise_party_id", "effective_date", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    enterprise_party_id: int = Field(foreign_key="party.id")
    share_class_id: int = Field(foreign_key="share_class.id")
    kind: str = Field(max_length=20)
    effective_date: date
    shares: int = Field(sa_column=Column(BigInteger, nullable=False))
    from_party_id: int | None = Field(default=None, foreign_key="party.id")
    to_party_id: int | None = Field(default=None, foreign_key="party.id")
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    paid_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    note: str | None = Field(default=None, max_length=500)
    entry_id: int | None = Field(default=None, sa_column=Column(BigInteger, ForeignKey("entry.id")))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class DistributionPolicy(SQLModel, table=True):
    """An enterprise's rules from a date (`ledger.equity.Policy`), percentages as Decimal strings."""

    __tablename__ = "distribution_policy"
    enterprise_party_id: int = Field(foreign_key="party.id", primary_key=True)
    effective_from: date = Field(primary_key=True)
    reserve_min_percent: str = Field(max_length=20)
    dividend_cap_percent: str | None = Field(default=None, max_length=20)
    holder_cap_percent: str | None = Field(default=None, max_length=20)
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class Distribution(SQLModel, table=True):
    """A period's net profit appropriated: the reserve, dividends and patronage refunds, and the
    entries that posted them (canonical JSON list) in the enterprise's book and the fund's."""

    __tablename__ = "distribution"
    __table_args__ = (
        UniqueConstraint("enterprise_party_id", "period_start", name="uq_distribution_period_start"),
        UniqueConstraint("enterprise_party_id", "period_end", name="uq_distribution_period_end"),
        CheckConstraint("period_start <= period_end AND declared_on >= period_end", name="ck_distribution_dates"),
        CheckConstraint(
            "net_profit_satang > 0 AND reserve_satang >= 0 AND dividend_satang >= 0 AND patronage_satang >= 0 "
            "AND reserve_satang + dividend_satang + patronage_satang <= net_profit_satang",
            name="ck_distribution_amounts",
        ),
        CheckConstraint(
            "declared_dividend_satang IS NULL OR declared_dividend_satang = dividend_satang",
            name="ck_distribution_declared_dividend",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    enterprise_party_id: int = Field(foreign_key="party.id")
    period_start: date
    period_end: date
    declared_on: date
    net_profit_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    reserve_percent: str = Field(max_length=20)
    dividend_rate_percent: str = Field(max_length=20)
    reserve_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    dividend_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    patronage_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_ids: str = Field(max_length=2000)
    # the amount declared to share out; null when the dividend was declared at a yearly rate
    declared_dividend_satang: int | None = Field(default=None, sa_column=Column(BigInteger))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class DistributionPart(SQLModel, table=True):
    __tablename__ = "distribution_part"
    __table_args__ = (
        CheckConstraint("kind IN ('dividend', 'patronage')", name="ck_distribution_part_kind"),
        CheckConstraint("weight >= 0 AND amount_satang >= 0", name="ck_distribution_part_amounts"),
        CheckConstraint("(kind = 'patronage') = (share_class_id IS NULL)", name="ck_distribution_part_class"),
        Index("ix_distribution_part_holder", "distribution_id", "holder_party_id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    distribution_id: int = Field(foreign_key="distribution.id")
    holder_party_id: int = Field(foreign_key="party.id")
    share_class_id: int | None = Field(default=None, foreign_key="share_class.id")
    kind: str = Field(max_length=20)
    weight: int = Field(sa_column=Column(BigInteger, nullable=False))  # paid-up satang-days, or business satang
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))


class DistributionPayment(SQLModel, table=True):
    """A holder's part of a distribution paid, once, and the entries that posted it."""

    __tablename__ = "distribution_payment"
    __table_args__ = (CheckConstraint("amount_satang > 0", name="ck_distribution_payment_amount"),)
    distribution_id: int = Field(foreign_key="distribution.id", primary_key=True)
    holder_party_id: int = Field(foreign_key="party.id", primary_key=True)
    paid_on: date
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_ids: str = Field(max_length=2000)
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class InvestmentSetting(SQLModel, table=True):
    """The purchase amount above which an investment waits for a second user's approval, set by
    an admin for a fund book; the newest row is in force."""

    __tablename__ = "investment_setting"
    __table_args__ = (
        CheckConstraint("approval_threshold_satang >= 0", name="ck_investment_setting_threshold"),
        Index("ix_investment_setting_book", "book_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    book_id: int = Field(foreign_key="book.id")
    approval_threshold_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class Investment(SQLModel, table=True):
    """The fund's position in one share class of one enterprise: its state and exit plan. Its
    figures are re-derived from its investment events."""

    __tablename__ = "investment"
    __table_args__ = (
        CheckConstraint(_in("status", INVESTMENT_STATUSES), name="ck_investment_status"),
        CheckConstraint(
            "exit_price_rule IS NULL OR "
            "exit_price_rule IN ('cost', 'par', 'carrying_amount', 'fixed', 'par_plus_retained')",
            name="ck_investment_exit_rule",
        ),
        Index("ix_investment_book_enterprise", "book_id", "enterprise_party_id", "share_class_id"),
        # one open position per fund book and share class: further purchases add to it
        partial_index("uq_investment_open", "book_id", "share_class_id", where="status <> 'exited'", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    book_id: int = Field(foreign_key="book.id")
    enterprise_party_id: int = Field(foreign_key="party.id")
    share_class_id: int = Field(foreign_key="share_class.id")
    status: str = Field(max_length=20)
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")
    exit_target_on: date | None = None
    exit_price_rule: str | None = Field(default=None, max_length=20)
    exit_price_per_share_satang: int | None = Field(default=None, sa_column=Column(BigInteger))
    exit_plan_note: str | None = Field(default=None, max_length=500)


class InvestmentPurchase(SQLModel, table=True):
    """A purchase of shares for a position: pending until a user other than its recorder
    approves it (when above the threshold), then posted as a `purchase` investment event."""

    __tablename__ = "investment_purchase"
    __table_args__ = (
        CheckConstraint("shares > 0 AND price_satang > 0", name="ck_investment_purchase_amounts"),
        CheckConstraint("status IN ('pending', 'posted')", name="ck_investment_purchase_status"),
        CheckConstraint("approved_by IS NULL OR approved_by <> recorded_by", name="ck_investment_purchase_four_eyes"),
        CheckConstraint(
            "(status = 'posted') = (event_id IS NOT NULL) AND "
            "(NOT needs_approval OR status = 'pending' OR approved_by IS NOT NULL)",
            name="ck_investment_purchase_approved",
        ),
        Index("ix_investment_purchase_book", "book_id", "investment_id"),
        partial_index("uq_investment_purchase_pending", "investment_id", where="status = 'pending'", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    investment_id: int = Field(foreign_key="investment.id")
    book_id: int = Field(foreign_key="book.id")
    shares: int = Field(sa_column=Column(BigInteger, nullable=False))
    price_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    effective_date: date
    status: str = Field(max_length=20)
    needs_approval: bool
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")
    approved_at: datetime | None = None
    approved_by: int | None = Field(default=None, foreign_key="app_user.id")
    event_id: int | None = Field(default=None, sa_column=Column(BigInteger, ForeignKey("investment_event.id")))


class InvestmentEvent(SQLModel, table=True):
    """What moved a position, and its entry in the fund's book: a purchase (its price is its
    cost), an impairment or its reversal (with a reason), an exit (the cost and impairment it
    took off at average cost, and the gain), a dividend declared or a dividend paid."""

    __tablename__ = "investment_event"
    __table_args__ = (
        CheckConstraint(_in("kind", INVESTMENT_EVENT_KINDS), name="ck_investment_event_kind"),
        CheckConstraint(
            "shares >= 0 AND amount_satang >= 0 AND cost_satang >= 0 AND impairment_satang >= 0",
            name="ck_investment_event_amounts",
        ),
        CheckConstraint(
            "(kind <> 'purchase' OR (shares > 0 AND amount_satang > 0 AND cost_satang = amount_satang)) AND "
            "(kind NOT IN ('impairment', 'impairment_reversal') OR "
            "(shares = 0 AND amount_satang > 0 AND impairment_satang = amount_satang AND reason IS NOT NULL)) AND "
            "(kind <> 'exit' OR (shares > 0 AND gain_satang = amount_satang - cost_satang + impairment_satang)) AND "
            "(kind = 'exit' OR gain_satang = 0) AND "
            "(kind NOT IN ('dividend', 'dividend_payment') OR (shares = 0 AND distribution_id IS NOT NULL))",
            name="ck_investment_event_kind_parts",
        ),
        Index("ix_investment_event_book", "book_id", "investment_id", "effective_date", "id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    investment_id: int = Field(foreign_key="investment.id")
    book_id: int = Field(foreign_key="book.id")
    kind: str = Field(max_length=20)
    effective_date: date
    shares: int = Field(sa_column=Column(BigInteger, nullable=False))
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    cost_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    impairment_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    gain_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    counterparty_party_id: int | None = Field(default=None, foreign_key="party.id")
    distribution_id: int | None = Field(default=None, foreign_key="distribution.id")
    register_event_id: int | None = Field(default=None, sa_column=Column(BigInteger, ForeignKey("register_event.id")))
    reason: str | None = Field(default=None, max_length=500)
    entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


# --- admin commands (migration 0016) ------------------------------------------------------------

ADMIN_COMMAND_KINDS = ("user.create", "investment.settings", "welfare.settings")
ADMIN_COMMAND_STATUSES = ("pending", "approved", "rejected", "withdrawn")


class AdminCommand(SQLModel, table=True):
    """A change one admin proposes (the maker) and another admin approves or rejects (the
    checker): a user who can approve, an investment approval threshold, a welfare fund's
    administration cap (`store.admin_commands`). The payload holds what the command does and no
    secret; `target` what its approval made or changed. A decided command never changes but for
    `token_taken_at`, set once (the migration's trigger), and none is ever removed."""

    __tablename__ = "admin_command"
    __table_args__ = (
        CheckConstraint(f"kind IN {ADMIN_COMMAND_KINDS!r}".replace('"', "'"), name="ck_admin_command_kind"),
        CheckConstraint(f"status IN {ADMIN_COMMAND_STATUSES!r}".replace('"', "'"), name="ck_admin_command_status"),
        # four eyes: one person is never both maker and checker
        CheckConstraint("checker_id IS NULL OR checker_id <> maker_id", name="ck_admin_command_four_eyes"),
        CheckConstraint(
            "(status IN ('approved', 'rejected') AND checker_id IS NOT NULL AND checked_at IS NOT NULL) OR "
            "(status = 'withdrawn' AND checker_id IS NULL AND checked_at IS NOT NULL) OR "
            "(status = 'pending' AND checker_id IS NULL AND checked_at IS NULL)",
            name="ck_admin_command_checked",
        ),
        CheckConstraint("(status = 'approved') = (target IS NOT NULL)", name="ck_admin_command_target"),
        CheckConstraint(
            "token_taken_at IS NULL OR (status = 'approved' AND kind = 'user.create')", name="ck_admin_command_token"
        ),
        Index("ix_admin_command_status", "status", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    maker_id: int = Field(foreign_key="app_user.id")
    made_at: datetime
    status: str = Field(max_length=20)
    checker_id: int | None = Field(default=None, foreign_key="app_user.id")
    checked_at: datetime | None = None
    target: str | None = Field(default=None, max_length=200)
    token_taken_at: datetime | None = None


class CloseOfBusinessDay(SQLModel, table=True):
    """A business day close of business has closed, and when it first did (`store.daily_cob`):
    the latest one is where the daily routine's catch-up starts."""

    __tablename__ = "close_of_business_day"
    day: date = Field(primary_key=True)
    closed_at: datetime


class SavingsRule(SQLModel, table=True):
    """An organisation's rule for its members' savings (migration 0026); an organisation
    without a row has the defaults of `ledger.savings`."""

    __tablename__ = "savings_rule"
    __table_args__ = (
        CheckConstraint("minimum_satang >= 0", name="ck_savings_rule_minimum"),
        CheckConstraint("monthly_deposit_satang >= 0", name="ck_savings_rule_monthly"),
    )
    organisation_party_id: int = Field(foreign_key="party.id", primary_key=True)
    minimum_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    withdraw_in_arrears: bool
    monthly_deposit_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    rate_percent: str = Field(max_length=20)  # a Decimal string: "3" is 3 % a year
    updated_at: datetime
    updated_by: int = Field(foreign_key="app_user.id")


class SavingsInterest(SQLModel, table=True):
    """A fiscal year's interest credited to an organisation's members: once a year."""

    __tablename__ = "savings_interest"
    __table_args__ = (
        CheckConstraint("total_satang >= 0 AND members >= 0", name="ck_savings_interest_amounts"),
        UniqueConstraint("organisation_party_id", "fiscal_year", name="uq_savings_interest_year"),
    )
    id: int | None = Field(default=None, primary_key=True)
    organisation_party_id: int = Field(foreign_key="party.id")
    fiscal_year: int
    as_of: date
    rate_percent: str = Field(max_length=20)
    members: int
    total_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")


class Remittance(SQLModel, table=True):
    """An organisation's monthly payment to CODI (migration 0027, `store.remittances`): one
    operation across two books. `loan_tx_id` is CODI's repayment of the loan (its entry
    `codi_entry_id`), `org_entry_id` the organisation's side of it (Dr 2300/2310/5100 / Cr 1100)
    and `reserve_entry_id` the reserve released to cover it (Dr 3200 / Cr 3300), if any. The
    parts are CODI's allocation; nothing was overpaid. Append-only."""

    __table_args__ = (
        CheckConstraint("amount_satang > 0", name="ck_remittance_amount"),
        CheckConstraint("principal_satang >= 0 AND interest_satang >= 0 AND penalty_satang >= 0",
                        name="ck_remittance_parts"),
        CheckConstraint("principal_satang + interest_satang + penalty_satang = amount_satang",
                        name="ck_remittance_allocated"),
        CheckConstraint("from_reserve_satang >= 0 AND from_reserve_satang <= amount_satang",
                        name="ck_remittance_reserve"),
        CheckConstraint("(from_reserve_satang > 0) = (reserve_entry_id IS NOT NULL)",
                        name="ck_remittance_reserve_entry"),
        Index("ix_remittance_organisation", "organisation_party_id", "month_start"),
    )  # fmt: skip
    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    organisation_party_id: int = Field(foreign_key="party.id")
    book_id: int = Field(foreign_key="book.id")  # the organisation's book
    codi_loan_id: int = Field(foreign_key="loan.id")
    month_start: date
    effective_date: date
    amount_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    principal_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    penalty_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    from_reserve_satang: int = Field(sa_column=Column(BigInteger, nullable=False))
    loan_tx_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("loan_transaction.id"), nullable=False, unique=True)
    )
    codi_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False, unique=True))
    org_entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=False, unique=True))
    reserve_entry_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("entry.id"), nullable=True, unique=True)
    )
    recorded_at: datetime
    recorded_by: int = Field(foreign_key="app_user.id")
