"""Members' savings in an organisation's book (issue 18, item 2).

- `savings_rule`: an organisation's rule (at most one row; none means the defaults of
  `ledger.savings`): the minimum balance a member keeps, whether a member in arrears may
  withdraw, the fixed monthly deposit, the yearly rate on savings (a Decimal string).
- `savings_interest`: each fiscal year's interest credited to an organisation's members, once a
  year (unique by organisation and year).

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _stamp(at: str, by: str) -> list[sa.Column]:
    return [sa.Column(at, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column(by, sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False)]  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "savings_rule",
        sa.Column("organisation_party_id", sa.Integer(), sa.ForeignKey("party.id"), primary_key=True),
        sa.Column("minimum_satang", sa.BigInteger(), nullable=False),
        sa.Column("withdraw_in_arrears", sa.Boolean(), nullable=False),
        sa.Column("monthly_deposit_satang", sa.BigInteger(), nullable=False),
        sa.Column("rate_percent", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        *_stamp("updated_at", "updated_by"),
        sa.CheckConstraint("minimum_satang >= 0", name="ck_savings_rule_minimum"),
        sa.CheckConstraint("monthly_deposit_satang >= 0", name="ck_savings_rule_monthly"),
    )
    op.create_table(
        "savings_interest",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organisation_party_id", sa.Integer(), sa.ForeignKey("party.id"), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("rate_percent", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("total_satang", sa.BigInteger(), nullable=False),
        *_stamp("recorded_at", "recorded_by"),
        sa.CheckConstraint("total_satang >= 0 AND members >= 0", name="ck_savings_interest_amounts"),
        sa.UniqueConstraint("organisation_party_id", "fiscal_year", name="uq_savings_interest_year"),
    )


def downgrade() -> None:
    op.drop_table("savings_interest")
    op.drop_table("savings_rule")
