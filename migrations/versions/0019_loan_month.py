"""The office's dashboard: loans by month as close of business leaves them, and instalments by
due date.

- `loan_month`: each loan's principal outstanding and days past due at the end of the latest
  close of business of a month (one row a loan and month, replaced by the next close of business
  of that month), so that the portfolio and its PAR by month read a row a loan instead of
  re-deriving every loan from its schedule and transactions; with the loan's borrower, so that
  a cut by region, province, centre or programme reads no loan row either.
- `ix_loan_instalment_due`: the instalments falling due in the next days, found by their date.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loan_month",
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), primary_key=True),
        sa.Column("month_start", sa.Date(), primary_key=True),
        sa.Column("closed_on", sa.Date(), nullable=False),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("borrower_party_id", sa.Integer(), sa.ForeignKey("party.id"), nullable=False),
        sa.Column("outstanding_satang", sa.BigInteger(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.CheckConstraint("outstanding_satang >= 0 AND days_past_due >= 0", name="ck_loan_month_figures"),
    )
    op.create_index("ix_loan_month_day", "loan_month",
                    ["month_start", "closed_on", "borrower_party_id", "days_past_due", "outstanding_satang", "loan_id"])
    op.create_index("ix_loan_instalment_due", "loan_instalment", ["due_on"])


def downgrade() -> None:
    op.drop_index("ix_loan_instalment_due", "loan_instalment")
    op.drop_index("ix_loan_month_day", "loan_month")
    op.drop_table("loan_month")
