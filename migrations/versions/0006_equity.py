"""Co-investment: share classes, the register of holdings events, distribution policies,
distributions with their parts and payments, and the fund's investments with their purchases,
events and the approval threshold.

- Append-only (UPDATE and DELETE, and on PostgreSQL TRUNCATE, refused): register events,
  policies, distributions, their parts and payments, investment events and threshold settings,
  so a cap table, a position and a distribution can always be re-derived from what was recorded.
- CHECK constraints: positive par values and prices; each register event names the parties its
  kind needs (a transfer two different ones), a payment moves no shares and an issue is paid at
  most its price; a distribution's reserve, dividends and refunds never exceed its net profit;
  an exit's gain is its price less the cost and impairment it took off; a purchase is approved
  by someone other than its recorder when it needs approval, and is posted only then.
- Unique: a share class code per enterprise; one distribution starting, and one ending, on a
  date per enterprise; one open position per fund book and share class; one pending purchase
  per position; a holder's part of a distribution is paid once.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from migrations.guards import append_only

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("register_event", "distribution_policy", "distribution", "distribution_part",
                      "distribution_payment", "investment_setting", "investment_event")  # fmt: skip
OPEN = "status <> 'exited'"
PENDING = "status = 'pending'"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _satang(*names: str, nullable: bool = False) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), nullable=nullable) for name in names]


def _party(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("party.id"), nullable=nullable)


def _stamp(at: str, by: str, nullable: bool = False) -> list[sa.Column]:
    """When a row was made, and by which user."""
    return [
        sa.Column(at, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=nullable),
        sa.Column(by, sa.Integer(), sa.ForeignKey("app_user.id"), nullable=nullable),
    ]


def _entry(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), sa.ForeignKey("entry.id"), nullable=nullable)


def _register() -> None:
    op.create_table(
        "share_class",
        sa.Column("id", sa.Integer(), primary_key=True),
        _party("enterprise_party_id"),
        sa.Column("code", _string(40), nullable=False),
        sa.Column("name_th", _string(200), nullable=False),
        sa.Column("name_en", _string(200), nullable=True),
        *_satang("par_value_satang"),
        sa.Column("votes_per_share", sa.Integer(), nullable=False),
        *_stamp("created_at", "created_by"),
        sa.UniqueConstraint("enterprise_party_id", "code", name="uq_share_class_code"),
        sa.CheckConstraint("par_value_satang > 0", name="ck_share_class_par"),
        sa.CheckConstraint("votes_per_share >= 0", name="ck_share_class_votes"),
    )
    op.create_table(
        "register_event",
        sa.Column("id", BIG_ID, primary_key=True),
        _party("enterprise_party_id"),
        sa.Column("share_class_id", sa.Integer(), sa.ForeignKey("share_class.id"), nullable=False),
        sa.Column("kind", _string(20), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        *_satang("shares"),
        _party("from_party_id", nullable=True),
        _party("to_party_id", nullable=True),
        *_satang("amount_satang", "paid_satang"),
        sa.Column("note", _string(500), nullable=True),
        _entry("entry_id", nullable=True),
        *_stamp("recorded_at", "recorded_by"),
        sa.CheckConstraint(
            "kind IN ('issue', 'payment', 'transfer', 'buy_back', 'cancellation')", name="ck_register_event_kind"
        ),
        sa.CheckConstraint("shares >= 0 AND amount_satang >= 0 AND paid_satang >= 0", name="ck_register_event_amounts"),
        sa.CheckConstraint(
            "(kind IN ('issue', 'payment') AND to_party_id IS NOT NULL AND from_party_id IS NULL) OR "
            "(kind = 'transfer' AND to_party_id IS NOT NULL AND from_party_id IS NOT NULL "
            "AND to_party_id <> from_party_id) OR "
            "(kind IN ('buy_back', 'cancellation') AND from_party_id IS NOT NULL AND to_party_id IS NULL)",
            name="ck_register_event_parties",
        ),
        sa.CheckConstraint(
            "(kind = 'payment') = (shares = 0) AND (kind <> 'payment' OR amount_satang > 0) AND "
            "(kind <> 'issue' OR paid_satang <= amount_satang) AND (kind = 'issue' OR paid_satang = 0)",
            name="ck_register_event_kind_parts",
        ),
    )
    op.create_index("ix_register_event_enterprise", "register_event", ["enterprise_party_id", "effective_date", "id"])


def _distributions() -> None:
    op.create_table(
        "distribution_policy",
        sa.Column("enterprise_party_id", sa.Integer(), sa.ForeignKey("party.id"), primary_key=True),
        sa.Column("effective_from", sa.Date(), primary_key=True),
        sa.Column("reserve_min_percent", _string(20), nullable=False),
        sa.Column("dividend_cap_percent", _string(20), nullable=True),
        sa.Column("holder_cap_percent", _string(20), nullable=True),
        *_stamp("recorded_at", "recorded_by"),
    )
    op.create_table(
        "distribution",
        sa.Column("id", sa.Integer(), primary_key=True),
        _party("enterprise_party_id"),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("declared_on", sa.Date(), nullable=False),
        *_satang("net_profit_satang"),
        sa.Column("reserve_percent", _string(20), nullable=False),
        sa.Column("dividend_rate_percent", _string(20), nullable=False),
        *_satang("reserve_satang", "dividend_satang", "patronage_satang"),
        sa.Column("entry_ids", _string(2000), nullable=False),
        *_stamp("recorded_at", "recorded_by"),
        sa.UniqueConstraint("enterprise_party_id", "period_start", name="uq_distribution_period_start"),
        sa.UniqueConstraint("enterprise_party_id", "period_end", name="uq_distribution_period_end"),
        sa.CheckConstraint("period_start <= period_end AND declared_on >= period_end", name="ck_distribution_dates"),
        sa.CheckConstraint(
            "net_profit_satang > 0 AND reserve_satang >= 0 AND dividend_satang >= 0 AND patronage_satang >= 0 "
            "AND reserve_satang + dividend_satang + patronage_satang <= net_profit_satang",
            name="ck_distribution_amounts",
        ),
    )
    op.create_table(
        "distribution_part",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("distribution_id", sa.Integer(), sa.ForeignKey("distribution.id"), nullable=False),
        _party("holder_party_id"),
        sa.Column("share_class_id", sa.Integer(), sa.ForeignKey("share_class.id"), nullable=True),
        sa.Column("kind", _string(20), nullable=False),
        *_satang("weight", "amount_satang"),
        sa.CheckConstraint("kind IN ('dividend', 'patronage')", name="ck_distribution_part_kind"),
        sa.CheckConstraint("weight >= 0 AND amount_satang >= 0", name="ck_distribution_part_amounts"),
        sa.CheckConstraint("(kind = 'patronage') = (share_class_id IS NULL)", name="ck_distribution_part_class"),
    )
    op.create_index("ix_distribution_part_holder", "distribution_part", ["distribution_id", "holder_party_id"])
    op.create_table(
        "distribution_payment",
        sa.Column("distribution_id", sa.Integer(), sa.ForeignKey("distribution.id"), primary_key=True),
        sa.Column("holder_party_id", sa.Integer(), sa.ForeignKey("party.id"), primary_key=True),
        sa.Column("paid_on", sa.Date(), nullable=False),
        *_satang("amount_satang"),
        sa.Column("entry_ids", _string(2000), nullable=False),
        *_stamp("recorded_at", "recorded_by"),
        sa.CheckConstraint("amount_satang > 0", name="ck_distribution_payment_amount"),
    )


def _investments() -> None:
    op.create_table(
        "investment_setting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        *_satang("approval_threshold_satang"),
        *_stamp("recorded_at", "recorded_by"),
        sa.CheckConstraint("approval_threshold_satang >= 0", name="ck_investment_setting_threshold"),
    )
    op.create_index("ix_investment_setting_book", "investment_setting", ["book_id", "id"])
    op.create_table(
        "investment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        _party("enterprise_party_id"),
        sa.Column("share_class_id", sa.Integer(), sa.ForeignKey("share_class.id"), nullable=False),
        sa.Column("status", _string(20), nullable=False),
        *_stamp("recorded_at", "recorded_by"),
        sa.Column("exit_target_on", sa.Date(), nullable=True),
        sa.Column("exit_price_rule", _string(20), nullable=True),
        *_satang("exit_price_per_share_satang", nullable=True),
        sa.Column("exit_plan_note", _string(500), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'active', 'exited')", name="ck_investment_status"),
        sa.CheckConstraint(
            "exit_price_rule IS NULL OR exit_price_rule IN ('cost', 'par', 'carrying_amount', 'fixed')",
            name="ck_investment_exit_rule",
        ),
    )
    op.create_index("ix_investment_book_enterprise", "investment", ["book_id", "enterprise_party_id", "share_class_id"])
    op.create_index(
        "uq_investment_open", "investment", ["book_id", "share_class_id"], unique=True,
        sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN),
    )  # fmt: skip
    _investment_events()
    _purchases()


def _investment_events() -> None:
    op.create_table(
        "investment_event",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("investment_id", sa.Integer(), sa.ForeignKey("investment.id"), nullable=False),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("kind", _string(20), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        *_satang("shares", "amount_satang", "cost_satang", "impairment_satang", "gain_satang"),
        _party("counterparty_party_id", nullable=True),
        sa.Column("distribution_id", sa.Integer(), sa.ForeignKey("distribution.id"), nullable=True),
        sa.Column("register_event_id", sa.BigInteger(), sa.ForeignKey("register_event.id"), nullable=True),
        sa.Column("reason", _string(500), nullable=True),
        _entry("entry_id", nullable=False),
        *_stamp("recorded_at", "recorded_by"),
        sa.CheckConstraint(
            "kind IN ('purchase', 'impairment', 'impairment_reversal', 'exit', 'dividend', 'dividend_payment')",
            name="ck_investment_event_kind",
        ),
        sa.CheckConstraint(
            "shares >= 0 AND amount_satang >= 0 AND cost_satang >= 0 AND impairment_satang >= 0",
            name="ck_investment_event_amounts",
        ),
        sa.CheckConstraint(
            "(kind <> 'purchase' OR (shares > 0 AND amount_satang > 0 AND cost_satang = amount_satang)) AND "
            "(kind NOT IN ('impairment', 'impairment_reversal') OR "
            "(shares = 0 AND amount_satang > 0 AND impairment_satang = amount_satang AND reason IS NOT NULL)) AND "
            "(kind <> 'exit' OR (shares > 0 AND gain_satang = amount_satang - cost_satang + impairment_satang)) AND "
            "(kind = 'exit' OR gain_satang = 0) AND "
            "(kind NOT IN ('dividend', 'dividend_payment') OR (shares = 0 AND distribution_id IS NOT NULL))",
            name="ck_investment_event_kind_parts",
        ),
    )
    op.create_index(
        "ix_investment_event_book", "investment_event", ["book_id", "investment_id", "effective_date", "id"]
    )


def _purchases() -> None:
    op.create_table(
        "investment_purchase",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("investment_id", sa.Integer(), sa.ForeignKey("investment.id"), nullable=False),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        *_satang("shares", "price_satang"),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("status", _string(20), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        *_stamp("recorded_at", "recorded_by"),
        *_stamp("approved_at", "approved_by", nullable=True),
        sa.Column("event_id", sa.BigInteger(), sa.ForeignKey("investment_event.id"), nullable=True),
        sa.CheckConstraint("shares > 0 AND price_satang > 0", name="ck_investment_purchase_amounts"),
        sa.CheckConstraint("status IN ('pending', 'posted')", name="ck_investment_purchase_status"),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> recorded_by", name="ck_investment_purchase_four_eyes"
        ),
        sa.CheckConstraint(
            "(status = 'posted') = (event_id IS NOT NULL) AND "
            "(NOT needs_approval OR status = 'pending' OR approved_by IS NOT NULL)",
            name="ck_investment_purchase_approved",
        ),
    )
    op.create_index("ix_investment_purchase_book", "investment_purchase", ["book_id", "investment_id"])
    op.create_index(
        "uq_investment_purchase_pending", "investment_purchase", ["investment_id"], unique=True,
        sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING),
    )  # fmt: skip


def upgrade() -> None:
    _register()
    _distributions()
    _investments()
    for statement in append_only(op.get_bind().dialect.name, APPEND_ONLY_TABLES):
        op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its indexes and triggers on both dialects; dependants go first.
    for table in ("investment_purchase", "investment_event", "investment", "investment_setting",
                  "distribution_payment", "distribution_part", "distribution", "distribution_policy",
                  "register_event", "share_class"):  # fmt: skip
        op.drop_table(table)
