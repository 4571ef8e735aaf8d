"""Community welfare funds: contribution rules, sales and their reversals, settlements and their
allocations, member and matching contributions, benefits, administration costs, fund settings.

- Event tables (sales, reversals, settlements, allocations, member and matching contributions,
  benefits, administration costs) are append-only: UPDATE and DELETE (and on PostgreSQL
  TRUNCATE) are refused, so a fund's figures can always be re-derived from what was recorded.
- CHECK constraints: positive amounts; a sale's contribution within its amount, taken from a rule
  and posted in the fund's book exactly when it is not zero; a settlement's advance within its
  amount; known channels, benefit types, matching sources and frequencies; an administration
  cost within the cap it was checked against unless an override (with its approver) says why.
- Contribution rules: no two rules of the same enterprise and channel (a rule for all channels
  is a channel of its own) in force on a common day, refused by a trigger on INSERT and UPDATE;
  a rule's enterprise, fund, rate, channel and start never change (only its end may be set).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from migrations.guards import append_only

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = (
    "welfare_sale",
    "welfare_sale_reversal",
    "welfare_settlement",
    "welfare_allocation",
    "welfare_member_contribution",
    "welfare_matching",
    "welfare_benefit",
    "welfare_admin_cost",
)
TABLES = ("welfare_fund_setting", "contribution_rule", *APPEND_ONLY_TABLES)
CHANNELS = "'market', 'online_shop', 'retailer'"
BENEFIT_TYPES = "'birth', 'illness', 'death', 'old_age', 'disability', 'scholarship', 'disaster'"
# Two rules of an enterprise overlap when their channels are the same (NULL: all channels) and
# neither ends before the other starts; "9999-12-31" stands for a rule without an end.
OVERLAP = """EXISTS (SELECT 1 FROM contribution_rule r
    WHERE r.enterprise_party_id = NEW.enterprise_party_id AND r.id <> NEW.id
      AND (r.channel = NEW.channel OR (r.channel IS NULL AND NEW.channel IS NULL))
      AND r.effective_from <= COALESCE(NEW.effective_to, DATE '9999-12-31')
      AND NEW.effective_from <= COALESCE(r.effective_to, DATE '9999-12-31'))"""
TERMS_CHANGED = """(NEW.enterprise_party_id <> OLD.enterprise_party_id OR NEW.fund_party_id <> OLD.fund_party_id
    OR NEW.rate_percent <> OLD.rate_percent OR NEW.effective_from <> OLD.effective_from
    OR COALESCE(NEW.channel, '') <> COALESCE(OLD.channel, ''))"""


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _money(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in names]


def _entry(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), sa.ForeignKey("entry.id"), nullable=nullable)


def _party(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("party.id"), nullable=nullable)


def _stamp(at: str = "recorded_at", by: str = "recorded_by") -> list[sa.Column]:
    return [
        sa.Column(at, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column(by, sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
    ]


def _big_id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)


def _rules() -> None:
    op.create_table(
        "welfare_fund_setting",
        sa.Column("party_id", sa.Integer(), sa.ForeignKey("party.id"), primary_key=True),
        sa.Column("admin_cap_percent", _string(20), nullable=False),
        *_money("member_daily_satang"),
        *_stamp("updated_at", "updated_by"),
    )
    op.create_table(
        "contribution_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        _party("enterprise_party_id"),
        _party("fund_party_id"),
        sa.Column("rate_percent", _string(20), nullable=False),
        sa.Column("channel", _string(20), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        *_stamp("created_at", "created_by"),
        sa.CheckConstraint(f"channel IN ({CHANNELS})", name="ck_rule_channel"),
        sa.CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="ck_rule_dates"),
    )
    op.create_index("ix_contribution_rule_enterprise", "contribution_rule",
                    ["enterprise_party_id", "channel", "effective_from"])  # fmt: skip
    op.create_index("ix_contribution_rule_fund", "contribution_rule", ["fund_party_id", "id"])


def _sales() -> None:
    op.create_table(
        "welfare_sale",
        _big_id(),
        _party("enterprise_party_id"),
        sa.Column("enterprise_book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        _party("fund_party_id", nullable=True),
        sa.Column("rule_id", sa.Integer(), sa.ForeignKey("contribution_rule.id"), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("channel", _string(20), nullable=False),
        sa.Column("payment", _string(10), nullable=False),
        *_money("amount_satang"),
        sa.Column("rate_percent", _string(20), nullable=True),
        *_money("contribution_satang", "advance_applied_satang"),
        sa.Column("description", _string(500), nullable=True),
        sa.Column("lines", sa.Text(), nullable=False),
        _entry("enterprise_entry_id"),
        _entry("fund_entry_id", nullable=True),
        *_stamp(),
        sa.CheckConstraint(f"channel IN ({CHANNELS})", name="ck_sale_channel"),
        sa.CheckConstraint("payment IN ('cash', 'credit')", name="ck_sale_payment"),
        sa.CheckConstraint(
            "amount_satang > 0 AND contribution_satang >= 0 AND contribution_satang <= amount_satang",
            name="ck_sale_amounts",
        ),
        sa.CheckConstraint(
            "advance_applied_satang >= 0 AND advance_applied_satang <= contribution_satang", name="ck_sale_advance"
        ),
        sa.CheckConstraint("rule_id IS NOT NULL OR contribution_satang = 0", name="ck_sale_rule"),
        sa.CheckConstraint("(contribution_satang = 0) = (fund_entry_id IS NULL)", name="ck_sale_fund_entry"),
        sa.CheckConstraint("(rule_id IS NULL) = (fund_party_id IS NULL)", name="ck_sale_fund"),
    )
    op.create_index("ix_welfare_sale_enterprise", "welfare_sale", ["enterprise_book_id", "effective_date", "id"])
    op.create_index("ix_welfare_sale_fund", "welfare_sale", ["fund_party_id", "enterprise_party_id", "effective_date"])
    op.create_table(
        "welfare_sale_reversal",
        sa.Column("sale_id", sa.BigInteger(), sa.ForeignKey("welfare_sale.id"), primary_key=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("reason", _string(500), nullable=False),
        *_money("returned_to_advance_satang"),
        sa.Column("entry_ids", _string(200), nullable=False),
        *_stamp(),
        sa.CheckConstraint("returned_to_advance_satang >= 0", name="ck_sale_reversal_returned"),
    )


def _settlements() -> None:
    op.create_table(
        "welfare_settlement",
        _big_id(),
        _party("enterprise_party_id"),
        _party("fund_party_id"),
        sa.Column("effective_date", sa.Date(), nullable=False),
        *_money("amount_satang", "advance_satang"),
        sa.Column("reference", _string(200), nullable=True),
        _entry("enterprise_entry_id"),
        _entry("fund_entry_id"),
        *_stamp(),
        sa.CheckConstraint(
            "amount_satang > 0 AND advance_satang >= 0 AND advance_satang <= amount_satang",
            name="ck_settlement_amounts",
        ),
    )
    op.create_index("ix_welfare_settlement_pair", "welfare_settlement", ["fund_party_id", "enterprise_party_id", "id"])
    op.create_table(
        "welfare_allocation",
        _big_id(),
        sa.Column("sale_id", sa.BigInteger(), sa.ForeignKey("welfare_sale.id"), nullable=False),
        sa.Column("settlement_id", sa.BigInteger(), sa.ForeignKey("welfare_settlement.id"), nullable=True),
        *_money("amount_satang"),
        sa.CheckConstraint("amount_satang > 0", name="ck_allocation_amount"),
    )
    op.create_index("ix_welfare_allocation_sale", "welfare_allocation", ["sale_id"])
    op.create_index("ix_welfare_allocation_settlement", "welfare_allocation", ["settlement_id"])


def _fund_money() -> None:
    op.create_table(
        "welfare_member_contribution",
        sa.Column("id", sa.Integer(), primary_key=True),
        _party("fund_party_id"),
        *[sa.Column(name, sa.Date(), nullable=False) for name in ("effective_date", "period_from", "period_to")],
        sa.Column("frequency", _string(10), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        *_money("amount_satang", "expected_satang"),
        _entry("entry_id"),
        *_stamp(),
        sa.CheckConstraint("frequency IN ('daily', 'monthly', 'yearly')", name="ck_member_frequency"),
        sa.CheckConstraint("member_count > 0 AND amount_satang > 0 AND expected_satang >= 0", name="ck_member_amounts"),
        sa.CheckConstraint("period_to >= period_from", name="ck_member_period"),
    )
    op.create_index("ix_welfare_member_fund", "welfare_member_contribution", ["fund_party_id", "effective_date"])
    op.create_table(
        "welfare_matching",
        sa.Column("id", sa.Integer(), primary_key=True),
        _party("fund_party_id"),
        sa.Column("source", _string(20), nullable=False),
        _party("source_party_id", nullable=True),
        sa.Column("kind", _string(10), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        *_money("amount_satang"),
        sa.Column("reference", _string(200), nullable=True),
        _entry("entry_id"),
        *_stamp(),
        sa.CheckConstraint("source IN ('local_authority', 'government', 'donor')", name="ck_matching_source"),
        sa.CheckConstraint("kind IN ('due', 'received')", name="ck_matching_kind"),
        sa.CheckConstraint("amount_satang > 0", name="ck_matching_amount"),
    )
    op.create_index("ix_welfare_matching_fund", "welfare_matching", ["fund_party_id", "source", "effective_date"])
    op.create_table(
        "welfare_benefit",
        sa.Column("id", sa.Integer(), primary_key=True),
        _party("fund_party_id"),
        sa.Column("benefit_type", _string(20), nullable=False),
        sa.Column("beneficiary_ref", _string(40), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        *_money("amount_satang"),
        _entry("entry_id"),
        *_stamp(),
        sa.CheckConstraint(f"benefit_type IN ({BENEFIT_TYPES})", name="ck_benefit_type"),
        sa.CheckConstraint("amount_satang > 0", name="ck_benefit_amount"),
    )
    op.create_index("ix_welfare_benefit_fund", "welfare_benefit", ["fund_party_id", "effective_date"])
    op.create_table(
        "welfare_admin_cost",
        sa.Column("id", sa.Integer(), primary_key=True),
        _party("fund_party_id"),
        sa.Column("effective_date", sa.Date(), nullable=False),
        *_money("amount_satang"),
        sa.Column("description", _string(500), nullable=False),
        *_money("cap_satang", "spent_before_satang"),
        sa.Column("override_reason", _string(500), nullable=True),
        sa.Column("overridden_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        _entry("entry_id"),
        *_stamp(),
        sa.CheckConstraint(
            "amount_satang > 0 AND cap_satang >= 0 AND spent_before_satang >= 0", name="ck_admin_amounts"
        ),
        sa.CheckConstraint("(override_reason IS NULL) = (overridden_by IS NULL)", name="ck_admin_override"),
        sa.CheckConstraint(
            "override_reason IS NOT NULL OR spent_before_satang + amount_satang <= cap_satang",
            name="ck_admin_within_cap",
        ),
    )
    op.create_index("ix_welfare_admin_fund", "welfare_admin_cost", ["fund_party_id", "effective_date"])


def _postgres_guards() -> list[str]:
    return [
        *append_only("postgresql", APPEND_ONLY_TABLES),
        f"""CREATE FUNCTION contribution_rule_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND {TERMS_CHANGED} THEN
                RAISE EXCEPTION 'rule_terms_fixed: only a contribution rule''s end may change'
                    USING ERRCODE = 'check_violation';
            END IF;
            -- one enterprise's rules are checked one writer at a time
            PERFORM pg_advisory_xact_lock(hashtext('contribution_rule'), NEW.enterprise_party_id);
            IF {OVERLAP} THEN
                RAISE EXCEPTION 'overlapping_rules: a rule of the enterprise and channel is in force then'
                    USING ERRCODE = 'exclusion_violation';
            END IF;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER contribution_rule_guard BEFORE INSERT OR UPDATE ON contribution_rule
            FOR EACH ROW EXECUTE FUNCTION contribution_rule_guard()""",
    ]  # fmt: skip


def _sqlite_guards() -> list[str]:
    # SQLite knows no DATE literal; ISO dates compare as text.
    overlap = OVERLAP.replace("DATE '9999-12-31'", "'9999-12-31'")
    new_id = "COALESCE(NEW.id, -1)"  # before INSERT a new INTEGER PRIMARY KEY is NULL
    return [
        *append_only("sqlite", APPEND_ONLY_TABLES),
        f"""CREATE TRIGGER contribution_rule_no_overlap BEFORE INSERT ON contribution_rule
        WHEN {overlap.replace("r.id <> NEW.id", f"r.id <> {new_id}")} BEGIN
            SELECT RAISE(ABORT, 'overlapping_rules: a rule of the enterprise and channel is in force then');
        END""",
        f"""CREATE TRIGGER contribution_rule_no_overlap_on_update BEFORE UPDATE ON contribution_rule
        WHEN {overlap} BEGIN
            SELECT RAISE(ABORT, 'overlapping_rules: a rule of the enterprise and channel is in force then');
        END""",
        f"""CREATE TRIGGER contribution_rule_terms_fixed BEFORE UPDATE ON contribution_rule
        WHEN {TERMS_CHANGED} BEGIN
            SELECT RAISE(ABORT, 'rule_terms_fixed: only a contribution rule''s end may change');
        END""",
    ]  # fmt: skip


def upgrade() -> None:
    _rules()
    _sales()
    _settlements()
    _fund_money()
    guards = _postgres_guards() if op.get_bind().dialect.name == "postgresql" else _sqlite_guards()
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its indexes and triggers on both dialects.
    for table in reversed(TABLES):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION contribution_rule_guard()")
