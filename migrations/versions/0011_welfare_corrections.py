"""Welfare funds, second part: a settlement undone (`welfare_settlement_reversal`), an unused
advance refunded (`welfare_advance_refund`), and the CODI fund book's entry of a government
matching contribution paid through CODI (`welfare_codi_leg`). All three are append-only.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from migrations.guards import append_only

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("welfare_settlement_reversal", "welfare_advance_refund", "welfare_codi_leg")


def _stamp() -> list[sa.Column]:
    return [
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
    ]


def _entry(name: str, unique: bool = False) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), sa.ForeignKey("entry.id"), nullable=False, unique=unique)


def upgrade() -> None:
    op.create_table(
        "welfare_settlement_reversal",
        sa.Column("settlement_id", sa.BigInteger(), sa.ForeignKey("welfare_settlement.id"), primary_key=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(500), nullable=False),
        sa.Column("reopened_satang", sa.BigInteger(), nullable=False),
        sa.Column("advance_taken_satang", sa.BigInteger(), nullable=False),
        sa.Column("entry_ids", sqlmodel.sql.sqltypes.AutoString(200), nullable=False),
        *_stamp(),
        sa.CheckConstraint("reopened_satang >= 0 AND advance_taken_satang >= 0", name="ck_settlement_reversal_amounts"),
        sa.CheckConstraint("length(trim(reason)) > 0", name="ck_settlement_reversal_reason"),
    )
    op.create_table(
        "welfare_advance_refund",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("enterprise_party_id", sa.Integer(), sa.ForeignKey("party.id"), nullable=False),
        sa.Column("fund_party_id", sa.Integer(), sa.ForeignKey("party.id"), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("amount_satang", sa.BigInteger(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(200), nullable=True),
        _entry("enterprise_entry_id"),
        _entry("fund_entry_id"),
        *_stamp(),
        sa.CheckConstraint("amount_satang > 0", name="ck_advance_refund_amount"),
    )
    op.create_index("ix_welfare_advance_refund_pair", "welfare_advance_refund",
                    ["fund_party_id", "enterprise_party_id", "id"])  # fmt: skip
    op.create_table(
        "welfare_codi_leg",
        sa.Column("matching_id", sa.Integer(), sa.ForeignKey("welfare_matching.id"), primary_key=True),
        sa.Column("codi_book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        _entry("entry_id", unique=True),
    )
    for statement in append_only(op.get_bind().dialect.name, TABLES):
        op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        if op.get_bind().execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one():
            raise RuntimeError(f"{table} has rows: the records of welfare corrections are never removed")
    op.drop_index("ix_welfare_advance_refund_pair", table_name="welfare_advance_refund")
    for table in reversed(TABLES):
        op.drop_table(table)  # and its triggers
