"""On-lending to members (issue 18, item 3).

- `loan_product.codi_rate_annual_percent`: of the rate a member loan product charges, the part
  owed to CODI (a Decimal string; null: no split recorded).
- `loan.funded_by_loan_id`: the CODI loan to the organisation that a member loan is lent out of
  (null: the organisation's own funds).
- `organisation_lending_rule`: an organisation's own rule for lending to its members: a maximum
  as a multiple of the member's savings, a maximum amount, the member guarantors required.

Revision ID: onlend
Revises: 0024
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "onlend"
down_revision = "0024"
branch_labels = None
depends_on = None
FOREIGN_KEY = "loan_funded_by_loan_id_fkey"  # the name PostgreSQL gives it by default


def upgrade() -> None:
    op.add_column("loan_product", sa.Column("codi_rate_annual_percent", sqlmodel.sql.sqltypes.AutoString(20),
                                            nullable=True))  # fmt: skip
    # In place on SQLite (a column that references another table and defaults to null), as 0024 does.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE loan ADD COLUMN funded_by_loan_id INTEGER REFERENCES loan (id)")
    else:
        op.add_column("loan", sa.Column("funded_by_loan_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FOREIGN_KEY, "loan", "loan", ["funded_by_loan_id"], ["id"])
    op.create_table(
        "organisation_lending_rule",
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("party.id"), primary_key=True),
        sa.Column("savings_multiple", sqlmodel.sql.sqltypes.AutoString(20), nullable=True),
        sa.Column("maximum_loan_satang", sa.BigInteger(), nullable=True),
        sa.Column("guarantors_required", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.CheckConstraint("maximum_loan_satang IS NULL OR maximum_loan_satang > 0", name="ck_lending_rule_maximum"),
        sa.CheckConstraint("guarantors_required BETWEEN 0 AND 10", name="ck_lending_rule_guarantors"),
    )


def downgrade() -> None:
    op.drop_table("organisation_lending_rule")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FOREIGN_KEY, "loan", type_="foreignkey")
    op.drop_column("loan", "funded_by_loan_id")  # SQLite >= 3.35 drops a column in place
    op.drop_column("loan_product", "codi_rate_annual_percent")
