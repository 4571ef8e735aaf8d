"""The business days close of business has closed (`close_of_business_day`), so that the daily
routine knows the last one and catches up every day after it (`store.daily_cob`).

A database that ran close of business before this revision is seeded with its last day: the
latest day its loans were closed through.

Revision ID: 0018
Revises: 0017
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLE = "close_of_business_day"


def upgrade() -> None:
    days = op.create_table(
        TABLE,
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    last = op.get_bind().execute(sa.text("SELECT max(cob_through) FROM loan")).scalar_one()
    if last is not None:
        day = last if isinstance(last, date) else date.fromisoformat(last)  # SQLite answers text
        op.bulk_insert(days, [{"day": day, "closed_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table(TABLE)
