"""Undoing a repayment: `loan_repayment_undo` (append-only) keeps each repayment taken back, why,
and the entry that reversed it. An undone repayment no longer counts in the loan's figures.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from migrations.guards import append_only

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLE = "loan_repayment_undo"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("original_tx_id", sa.BigInteger(), sa.ForeignKey("loan_transaction.id"), primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("reversal_entry_id", sa.BigInteger(), sa.ForeignKey("entry.id"), nullable=False, unique=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(500), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.CheckConstraint("length(trim(reason)) > 0", name="ck_loan_repayment_undo_reason"),
    )
    op.create_index("ix_loan_repayment_undo_book", TABLE, ["book_id", "loan_id"])
    for statement in append_only(op.get_bind().dialect.name, [TABLE]):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().execute(sa.text(f"SELECT count(*) FROM {TABLE}")).scalar_one():
        raise RuntimeError("repayments were undone: the records of it are never removed")
    op.drop_index("ix_loan_repayment_undo_book", table_name=TABLE)
    op.drop_table(TABLE)  # and its triggers
