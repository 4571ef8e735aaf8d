"""Charge-off, and undoing a charge-off or a write-off (docs/loans.md, `ledger.charge_off`).

- `loan.charged_off_on`, `loan.charge_off_reason`: the loan's charge-off in force, if any.
- `loan_charge_off` (append-only): each charge-off, its reason from a closed list, and the entry
  that recognised its principal as a loss; `loan_charge_off_undo` (append-only): each one
  undone, why, and the entry that reversed it.
- `loan_write_off_undo` (append-only): each write-off undone, why, and the entry that reversed
  it; the write-off no longer counts in the loan's figures.
- `loan_month.charged_off`: the loan was charged off at the end of the row's day.
- `loan_litigation_event` (append-only): a loan taken to court or no longer, from a date, and
  why, so that a rate change's rule reads the loan on its own day.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from migrations.guards import append_only

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REASONS = ("prolonged_arrears", "group_dissolved", "disaster", "fraud", "litigation", "other")
TABLES = ("loan_charge_off", "loan_charge_off_undo", "loan_write_off_undo", "loan_litigation_event")


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _recorded() -> list[sa.Column]:
    return [sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False)]  # fmt: skip


def _undo(table: str, key: sa.Column) -> None:
    op.create_table(
        table, key,
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("reversal_entry_id", sa.BigInteger(), sa.ForeignKey("entry.id"), nullable=False, unique=True),
        sa.Column("reason", _string(500), nullable=False), *_recorded(),
        sa.CheckConstraint("length(trim(reason)) > 0", name=f"ck_{table}_reason"),
    )  # fmt: skip
    op.create_index(f"ix_{table}_book", table, ["book_id", "loan_id"])


def upgrade() -> None:
    op.add_column("loan", sa.Column("charged_off_on", sa.Date(), nullable=True))
    op.add_column("loan", sa.Column("charge_off_reason", _string(40), nullable=True))
    op.add_column("loan_month", sa.Column("charged_off", sa.Boolean(), nullable=False, server_default=sa.false()))
    reasons = ", ".join(f"'{r}'" for r in REASONS)
    op.create_table(
        "loan_charge_off",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("reason", _string(40), nullable=False),
        sa.Column("note", _string(500), nullable=True),
        sa.Column("principal_satang", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), sa.ForeignKey("entry.id"), nullable=False, unique=True),
        *_recorded(),
        sa.CheckConstraint(f"reason IN ({reasons})", name="ck_loan_charge_off_reason"),
        sa.CheckConstraint("principal_satang > 0", name="ck_loan_charge_off_principal"),
    )
    op.create_index("ix_loan_charge_off_book", "loan_charge_off", ["book_id", "loan_id", "effective_date"])
    _undo("loan_charge_off_undo",
          sa.Column("charge_off_id", sa.BigInteger(), sa.ForeignKey("loan_charge_off.id"), primary_key=True))
    _undo("loan_write_off_undo",
          sa.Column("original_tx_id", sa.BigInteger(), sa.ForeignKey("loan_transaction.id"), primary_key=True))
    op.create_table(
        "loan_litigation_event",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("in_litigation", sa.Boolean(), nullable=False),
        sa.Column("reason", _string(500), nullable=False), *_recorded(),
        sa.CheckConstraint("length(trim(reason)) > 0", name="ck_loan_litigation_event_reason"),
    )  # fmt: skip
    op.create_index("ix_loan_litigation_event_loan", "loan_litigation_event", ["loan_id", "effective_on", "id"])
    for statement in append_only(op.get_bind().dialect.name, TABLES):
        op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        if op.get_bind().execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one():
            raise RuntimeError("loans were charged off or undone: the records of it are never removed")
    op.drop_index("ix_loan_litigation_event_loan", table_name="loan_litigation_event")
    op.drop_table("loan_litigation_event")
    for table in reversed(TABLES[:3]):
        op.drop_index(f"ix_{table}_book", table_name=table)
        op.drop_table(table)  # and its triggers
    op.drop_column("loan_month", "charged_off")
    op.drop_column("loan", "charge_off_reason")
    op.drop_column("loan", "charged_off_on")
