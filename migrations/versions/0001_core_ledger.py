"""Core ledger tables.

Revision ID: 0001
Revises:
The tables of the core ledger: parties, books, accounts and their balances, entries,
postings, periods, users, idempotency records and the audit chain.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_record",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("entry_ids", sa.Text(), nullable=False),
        sa.Column("previous_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_table(
        "party",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name_th", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("province", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("centre_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"],
            ["party.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint("(role = 'enterprise') = (party_id IS NOT NULL)", name="ck_user_party"),
        sa.CheckConstraint("role IN ('admin','officer','approver','auditor','enterprise')", name="ck_user_role"),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["party.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "book",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name_th", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("closed_through", sa.Date(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["party.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_book_party_id"), "book", ["party_id"], unique=False)
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name_th", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("balance_rule", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("balance_rule IN ('none','debit_or_zero','credit_or_zero')", name="ck_account_rule"),
        sa.CheckConstraint("type IN ('asset','liability','equity','income','expense')", name="ck_account_type"),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["book.id"],
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["party.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("book_id", "code"),
        sa.UniqueConstraint("id", "book_id", name="uq_account_id_book"),
    )
    op.create_index("ix_account_book_party", "account", ["book_id", "party_id"], unique=False)
    op.create_index(op.f("ix_account_party_id"), "account", ["party_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(sa.Sequence("entry_id_seq")))
    op.create_table(
        "entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("reverses_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("dimensions", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["book.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            ["entry.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reverses_entry_id"),
    )
    op.create_index("ix_entry_book_date", "entry", ["book_id", "effective_date"], unique=False)
    op.create_index("ix_entry_book_id", "entry", ["book_id", "id"], unique=False)
    op.create_table(
        "idempotency_record",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    op.create_table(
        "period_close",
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("closed_through", sa.Date(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_by", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["book.id"],
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("book_id", "closed_through"),
    )
    op.create_table(
        "account_balance",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("balance_rule", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("balance_satang", sa.BigInteger(), nullable=False),
        sa.Column("posting_count", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "(balance_rule <> 'debit_or_zero' OR balance_satang >= 0) AND "
            "(balance_rule <> 'credit_or_zero' OR balance_satang <= 0)",
            name="ck_balance_rule",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["book.id"],
        ),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_index("ix_account_balance_book", "account_balance", ["book_id", "account_id"], unique=False)
    op.create_table(
        "account_month",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("movement_satang", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["book.id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "month_start"),
    )
    op.create_index("ix_account_month_book", "account_month", ["book_id", "month_start"], unique=False)
    op.create_table(
        "posting",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("book_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("amount_satang", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_satang <> 0", name="ck_posting_nonzero"),
        sa.ForeignKeyConstraint(
            ["account_id", "book_id"], ["account.id", "account.book_id"], name="fk_posting_account"
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entry.id"], name="fk_posting_entry", initially="DEFERRED", deferrable=True
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_posting_account_date", "posting", ["account_id", "effective_date", "entry_id"], unique=False)
    op.create_index("ix_posting_book_date", "posting", ["book_id", "effective_date"], unique=False)
    op.create_index("ix_posting_entry", "posting", ["entry_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_posting_entry", table_name="posting")
    op.drop_index("ix_posting_book_date", table_name="posting")
    op.drop_index("ix_posting_account_date", table_name="posting")
    op.drop_table("posting")
    op.drop_index("ix_account_month_book", table_name="account_month")
    op.drop_table("account_month")
    op.drop_index("ix_account_balance_book", table_name="account_balance")
    op.drop_table("account_balance")
    op.drop_table("period_close")
    op.drop_table("idempotency_record")
    op.drop_index("ix_entry_book_id", table_name="entry")
    op.drop_index("ix_entry_book_date", table_name="entry")
    op.drop_table("entry")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("entry_id_seq")))
    op.drop_index(op.f("ix_account_party_id"), table_name="account")
    op.drop_index("ix_account_book_party", table_name="account")
    op.drop_table("account")
    op.drop_index(op.f("ix_book_party_id"), table_name="book")
    op.drop_table("book")
    op.drop_table("app_user")
    op.drop_table("party")
    op.drop_table("audit_record")
    op.drop_table("audit_head")
