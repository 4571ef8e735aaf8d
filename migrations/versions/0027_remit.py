"""The monthly remittance (issue 18): `remittance` (append-only), an organisation's payment to
CODI as one operation across two books, CODI's repayment and the organisation's side of it, with
CODI's allocation (principal, interest and penalty adding up to the amount: nothing overpaid)
and what came from the reserve (its entry there exactly when it is more than zero).

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from migrations.guards import append_only

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _entry(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), sa.ForeignKey("entry.id"), nullable=nullable, unique=True)


def _satang(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "remittance",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("organisation_party_id", sa.Integer(), sa.ForeignKey("party.id"), nullable=False),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("codi_loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        *(_satang(f"{part}_satang") for part in ("amount", "principal", "interest", "penalty", "from_reserve")),
        sa.Column("loan_tx_id", sa.BigInteger(), sa.ForeignKey("loan_transaction.id"), nullable=False, unique=True),
        _entry("codi_entry_id"), _entry("org_entry_id"), _entry("reserve_entry_id", nullable=True),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.CheckConstraint("amount_satang > 0", name="ck_remittance_amount"),
        sa.CheckConstraint("principal_satang >= 0 AND interest_satang >= 0 AND penalty_satang >= 0",
                           name="ck_remittance_parts"),
        sa.CheckConstraint("principal_satang + interest_satang + penalty_satang = amount_satang",
                           name="ck_remittance_allocated"),
        sa.CheckConstraint("from_reserve_satang >= 0 AND from_reserve_satang <= amount_satang",
                           name="ck_remittance_reserve"),
        sa.CheckConstraint("(from_reserve_satang > 0) = (reserve_entry_id IS NOT NULL)",
                           name="ck_remittance_reserve_entry"),
    )  # fmt: skip
    op.create_index("ix_remittance_organisation", "remittance", ["organisation_party_id", "month_start"])
    for statement in append_only(op.get_bind().dialect.name, ["remittance"]):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().execute(sa.text("SELECT count(*) FROM remittance")).scalar_one():
        raise RuntimeError("remittances were recorded: the records of them are never removed")
    op.drop_index("ix_remittance_organisation", table_name="remittance")
    op.drop_table("remittance")
