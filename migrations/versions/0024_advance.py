"""Advance payments: a loan may choose what a payment beyond what is due does (the product's
choice, in its terms, otherwise), and a schedule version an advance made names the repayment,
so that the version drops out when the repayment is re-allocated or taken back.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None
FOREIGN_KEY = "loan_schedule_repayment_tx_id_fkey"  # the name PostgreSQL gives it by default


def upgrade() -> None:
    op.add_column("loan", sa.Column("advance_payment", sqlmodel.sql.sqltypes.AutoString(20), nullable=True))
    # In place on SQLite too (a column that references another table and defaults to null): a
    # rebuild would drop the table's append-only triggers.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE loan_schedule ADD COLUMN repayment_tx_id INTEGER REFERENCES loan_transaction (id)")
        return
    op.add_column("loan_schedule", sa.Column("repayment_tx_id", sa.Integer(), nullable=True))
    op.create_foreign_key(FOREIGN_KEY, "loan_schedule", "loan_transaction", ["repayment_tx_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FOREIGN_KEY, "loan_schedule", type_="foreignkey")
    op.drop_column("loan_schedule", "repayment_tx_id")  # SQLite >= 3.35 drops a column in place
    op.drop_column("loan", "advance_payment")
