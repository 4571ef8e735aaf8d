"""Year-end close: closing entries, fiscal years carried forward, and programmes of parties.

- `year_end_close`: a book's fiscal year closed (BE year, checked in range), the income less
  expenses moved into accumulated surplus, and the book's period lock before the close (a
  reversal goes back to it). `year_end_entry`: the closing entries it posted.
  `year_end_balance`: every account's balance carried forward, the opening of the next year.
  `year_end_reversal`: a close reversed by an admin, with a reason that may not be blank.
  All four are append-only (UPDATE and DELETE refused; on PostgreSQL TRUNCATE too).
- A fiscal year has at most one close in force per book: a trigger refuses a second close while
  the first is not reversed (a reversal is one row per close: its primary key).
- `party_programme`: the support programmes a party takes part in, a dimension of the reports.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from migrations.guards import append_only

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("year_end_close", "year_end_entry", "year_end_balance", "year_end_reversal")
ONE_CLOSE_IN_FORCE = """EXISTS (SELECT 1 FROM year_end_close c WHERE c.book_id = NEW.book_id
    AND c.fiscal_year = NEW.fiscal_year AND NOT EXISTS (SELECT 1 FROM year_end_reversal r WHERE r.close_id = c.id))"""
REFUSAL = "year_closed: the fiscal year of this book is closed already"


def _stamp(at: str, by: str) -> list[sa.Column]:
    return [
        sa.Column(at, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column(by, sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
    ]


def _tables() -> None:
    op.create_table(
        "year_end_close",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("closed_through", sa.Date(), nullable=False),
        sa.Column("surplus_satang", sa.BigInteger(), nullable=False),
        sa.Column("previous_closed_through", sa.Date(), nullable=True),
        *_stamp("closed_at", "closed_by"),
        sa.CheckConstraint("fiscal_year BETWEEN 2400 AND 2800", name="ck_year_end_fiscal_year"),
    )
    op.create_index("ix_year_end_close_book", "year_end_close", ["book_id", "fiscal_year"])
    op.create_table(
        "year_end_entry",
        sa.Column("entry_id", sa.BigInteger(), sa.ForeignKey("entry.id"), primary_key=True),
        sa.Column("close_id", sa.Integer(), sa.ForeignKey("year_end_close.id"), nullable=False),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
    )
    op.create_index("ix_year_end_entry_book", "year_end_entry", ["book_id", "close_id"])
    op.create_table(
        "year_end_balance",
        sa.Column("close_id", sa.Integer(), sa.ForeignKey("year_end_close.id"), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), primary_key=True),
        sa.Column("balance_satang", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "year_end_reversal",
        sa.Column("close_id", sa.Integer(), sa.ForeignKey("year_end_close.id"), primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(500), nullable=False),
        *_stamp("reversed_at", "reversed_by"),
        sa.CheckConstraint("length(trim(reason)) > 0", name="ck_year_end_reversal_reason"),
    )
    op.create_table(
        "party_programme",
        sa.Column("party_id", sa.Integer(), sa.ForeignKey("party.id"), primary_key=True),
        sa.Column("programme", sqlmodel.sql.sqltypes.AutoString(80), primary_key=True),
        sa.CheckConstraint("length(trim(programme)) > 0", name="ck_party_programme_name"),
    )
    op.create_index("ix_party_programme_programme", "party_programme", ["programme", "party_id"])


def _guards(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"""CREATE FUNCTION year_end_one_close() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {ONE_CLOSE_IN_FORCE} THEN
                    RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'unique_violation';
                END IF;
                RETURN NEW;
            END $$""",
            """CREATE TRIGGER year_end_one_close BEFORE INSERT ON year_end_close
            FOR EACH ROW EXECUTE FUNCTION year_end_one_close()""",
        ] + append_only(dialect, APPEND_ONLY_TABLES)
    return [
        f"""CREATE TRIGGER year_end_one_close BEFORE INSERT ON year_end_close WHEN {ONE_CLOSE_IN_FORCE} BEGIN
            SELECT RAISE(ABORT, '{REFUSAL}');
        END"""
    ] + append_only(dialect, APPEND_ONLY_TABLES)


def upgrade() -> None:
    _tables()
    for statement in _guards(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM year_end_close")).scalar_one():
        raise RuntimeError("fiscal years were closed: their closes are never removed")
    # Dropping a table drops its triggers on both dialects; the function stays on PostgreSQL.
    op.drop_index("ix_party_programme_programme", table_name="party_programme")
    op.drop_table("party_programme")
    op.drop_table("year_end_reversal")
    op.drop_table("year_end_balance")
    op.drop_index("ix_year_end_entry_book", table_name="year_end_entry")
    op.drop_table("year_end_entry")
    op.drop_index("ix_year_end_close_book", table_name="year_end_close")
    op.drop_table("year_end_close")
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS year_end_one_close()")
