"""Loans: products and their rate changes, loans, schedule versions and loan transactions.

- A loan's schedule versions (`loan_schedule`, `loan_instalment`) and its transactions
  (`loan_transaction`) are append-only, like entries: UPDATE and DELETE (and on PostgreSQL
  TRUNCATE) are refused, so a loan's figures can always be re-derived from what was recorded.
- CHECK constraints: positive amounts; a transaction's parts are non-negative and sum to its
  amount (every satang allocated exactly once); a loan is approved by someone other than the
  user who recorded it, and goes no further than `applied` without an approver.
- Close of business accrues (or reverses) a loan's interest at most once a day: a partial unique
  index on (loan, kind, date) for those kinds.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("loan_schedule", "loan_instalment", "loan_transaction")
ACCRUAL_KINDS = "kind IN ('accrual', 'accrual_reversal')"


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _stamp(at: str, by: str) -> list[sa.Column]:
    """When a row was made, and by which user."""
    return [
        sa.Column(at, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column(by, sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
    ]


def _products() -> None:
    op.create_table(
        "loan_product",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("code", _string(40), nullable=False),
        sa.Column("name_th", _string(200), nullable=False),
        sa.Column("name_en", _string(200), nullable=True),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("min_savings_percent", _string(20), nullable=False),
        sa.Column("accounts", _string(1000), nullable=False),
        *_stamp("created_at", "created_by"),
        sa.UniqueConstraint("book_id", "code", name="uq_loan_product_code"),
    )
    op.create_table(
        "loan_product_rate",
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("loan_product.id"), primary_key=True),
        sa.Column("effective_on", sa.Date(), primary_key=True),
        sa.Column("rate_annual_percent", _string(20), nullable=False),
    )


def _loans() -> None:
    op.create_table(
        "loan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("loan_product.id"), nullable=False),
        sa.Column("borrower_party_id", sa.Integer(), sa.ForeignKey("party.id"), nullable=False),
        sa.Column("amount_satang", sa.BigInteger(), nullable=False),
        sa.Column("term_instalments", sa.Integer(), nullable=False),
        sa.Column("first_repayment_on", sa.Date(), nullable=True),
        sa.Column("status", _string(20), nullable=False),
        sa.Column("savings_satang", sa.BigInteger(), nullable=False),
        sa.Column("savings_override_reason", _string(500), nullable=True),
        sa.Column("guarantors", _string(4000), nullable=False),
        sa.Column("purpose", _string(500), nullable=True),
        sa.Column("receivable_account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=True),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("approved_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("approved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("loan_class", _string(20), nullable=False),
        sa.Column("accruing", sa.Boolean(), nullable=False),
        sa.Column("cob_through", sa.Date(), nullable=True),
        sa.CheckConstraint("amount_satang > 0", name="ck_loan_amount"),
        sa.CheckConstraint("savings_satang >= 0", name="ck_loan_savings"),
        sa.CheckConstraint("term_instalments > 0", name="ck_loan_term"),
        sa.CheckConstraint("days_past_due >= 0", name="ck_loan_days_past_due"),
        sa.CheckConstraint(
            "status IN ('applied', 'approved', 'active', 'closed', 'written_off')", name="ck_loan_status"
        ),
        sa.CheckConstraint("approved_by IS NULL OR approved_by <> recorded_by", name="ck_loan_four_eyes"),
        sa.CheckConstraint("status = 'applied' OR approved_by IS NOT NULL", name="ck_loan_approved"),
    )
    op.create_index("ix_loan_book_status", "loan", ["book_id", "status", "id"])
    op.create_index("ix_loan_book_borrower", "loan", ["book_id", "borrower_party_id"])


def _schedules() -> None:
    op.create_table(
        "loan_schedule",
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("amount_satang", sa.BigInteger(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("reason", _string(200), nullable=False),
        *_stamp("created_at", "created_by"),
        sa.CheckConstraint("version >= 1", name="ck_loan_schedule_version"),
        sa.CheckConstraint("amount_satang > 0", name="ck_loan_schedule_amount"),
    )
    op.create_index("ix_loan_schedule_book", "loan_schedule", ["book_id", "loan_id", "effective_from"])
    op.create_table(
        "loan_instalment",
        sa.Column("loan_id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("principal_satang", sa.BigInteger(), nullable=False),
        sa.Column("interest_satang", sa.BigInteger(), nullable=False),
        sa.Column("interest_accrued_satang", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_after_satang", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id", "version"], ["loan_schedule.loan_id", "loan_schedule.version"], name="fk_instalment_schedule"
        ),
        sa.CheckConstraint(
            "number >= 1 AND principal_satang >= 0 AND interest_satang >= 0 AND interest_accrued_satang >= 0 "
            "AND outstanding_after_satang >= 0",
            name="ck_loan_instalment_parts",
        ),
    )


def _transactions() -> None:
    amounts = ("amount_satang", "principal_satang", "interest_satang", "penalty_satang", "overpayment_satang",
               "interest_from_receivable_satang")  # fmt: skip
    op.create_table(
        "loan_transaction",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("kind", _string(20), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in amounts],
        sa.Column("entry_id", sa.BigInteger(), sa.ForeignKey("entry.id"), nullable=False),
        *_stamp("recorded_at", "recorded_by"),
        sa.CheckConstraint(
            "kind IN ('disbursement', 'repayment', 'accrual', 'accrual_reversal')", name="ck_loan_tx_kind"
        ),
        sa.CheckConstraint(
            "amount_satang > 0 AND principal_satang >= 0 AND interest_satang >= 0 AND penalty_satang >= 0 "
            "AND overpayment_satang >= 0 AND interest_from_receivable_satang >= 0",
            name="ck_loan_tx_amounts",
        ),
        sa.CheckConstraint(
            "principal_satang + interest_satang + penalty_satang + overpayment_satang = amount_satang",
            name="ck_loan_tx_allocated",
        ),
        sa.CheckConstraint("interest_from_receivable_satang <= interest_satang", name="ck_loan_tx_receivable"),
        sa.CheckConstraint(
            "(kind <> 'disbursement' OR principal_satang = amount_satang) AND "
            "(kind NOT IN ('accrual', 'accrual_reversal') OR interest_satang = amount_satang)",
            name="ck_loan_tx_kind_parts",
        ),
    )
    op.create_index("ix_loan_tx_book_loan", "loan_transaction", ["book_id", "loan_id", "effective_date", "id"])
    op.create_index("ix_loan_tx_entry", "loan_transaction", ["entry_id"])
    op.create_index(
        "uq_loan_tx_accrual_day", "loan_transaction", ["loan_id", "kind", "effective_date"], unique=True,
        sqlite_where=sa.text(ACCRUAL_KINDS), postgresql_where=sa.text(ACCRUAL_KINDS),
    )  # fmt: skip


def _append_only_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":  # refuse_change() is the function migration 0002 made for entries
        return [
            f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"""
            for table in APPEND_ONLY_TABLES
        ]
    return [
        f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN
            SELECT RAISE(ABORT, 'append_only: {table} rows are never changed or removed');
        END"""
        for table in APPEND_ONLY_TABLES
        for verb in ("UPDATE", "DELETE")
    ]


def upgrade() -> None:
    _products()
    _loans()
    _schedules()
    _transactions()
    for statement in _append_only_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its triggers on both dialects.
    op.drop_index("uq_loan_tx_accrual_day", table_name="loan_transaction")
    op.drop_index("ix_loan_tx_entry", table_name="loan_transaction")
    op.drop_index("ix_loan_tx_book_loan", table_name="loan_transaction")
    op.drop_table("loan_transaction")
    op.drop_table("loan_instalment")
    op.drop_index("ix_loan_schedule_book", table_name="loan_schedule")
    op.drop_table("loan_schedule")
    op.drop_index("ix_loan_book_borrower", table_name="loan")
    op.drop_index("ix_loan_book_status", table_name="loan")
    op.drop_table("loan")
    op.drop_table("loan_product_rate")
    op.drop_table("loan_product")
