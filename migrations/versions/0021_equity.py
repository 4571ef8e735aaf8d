"""Co-investment as the enterprises do it: a dividend declared as an amount, and the exit price
rule "par plus retained earnings per share".

- `distribution.declared_dividend_satang`: the amount declared to share out (null when the
  dividend was declared at a yearly rate); when set it is the dividend, exactly
  (ck_distribution_declared_dividend).
- `investment.exit_price_rule` admits `par_plus_retained` (ck_investment_exit_rule).

On SQLite a CHECK constraint cannot be altered, and the investment table cannot be rebuilt while
the tables that reference it hold rows: the constraint's text is replaced in the schema itself
(PRAGMA writable_schema, as 0012 does), which is safe because every row already meets the wider
constraint.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

OLD_RULES = "exit_price_rule IN ('cost', 'par', 'carrying_amount', 'fixed')"
NEW_RULES = "exit_price_rule IN ('cost', 'par', 'carrying_amount', 'fixed', 'par_plus_retained')"
DECLARED = "declared_dividend_satang IS NULL OR declared_dividend_satang = dividend_satang"


def _rules(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_constraint("ck_investment_exit_rule", "investment", type_="check")
        op.create_check_constraint("ck_investment_exit_rule", "investment", f"exit_price_rule IS NULL OR {new}")
        return
    query = sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'investment'")
    [sql] = bind.execute(query).scalars()
    assert sql.count(old) == 1, old
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    op.execute("PRAGMA writable_schema = ON")
    bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'investment'"),
                 {"sql": sql.replace(old, new)})  # fmt: skip
    op.execute(f"PRAGMA schema_version = {version + 1}")
    op.execute("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    op.execute(f"ALTER TABLE distribution ADD COLUMN declared_dividend_satang BIGINT "
               f"CONSTRAINT ck_distribution_declared_dividend CHECK ({DECLARED})")  # fmt: skip
    _rules(OLD_RULES, NEW_RULES)


def downgrade() -> None:
    bind = op.get_bind()
    newer = bind.execute(sa.text("SELECT count(*) FROM investment WHERE exit_price_rule = 'par_plus_retained'"))
    if newer.scalar_one():
        raise RuntimeError("exit plans follow the par-plus-retained-earnings rule: 0020 cannot express them")
    declared = bind.execute(sa.text("SELECT count(*) FROM distribution WHERE declared_dividend_satang IS NOT NULL"))
    if declared.scalar_one():
        raise RuntimeError("dividends were declared as amounts: 0020 cannot tell them from rates")
    _rules(NEW_RULES, OLD_RULES)
    if bind.dialect.name == "postgresql":
        op.drop_constraint("ck_distribution_declared_dividend", "distribution", type_="check")
    op.execute("ALTER TABLE distribution DROP COLUMN declared_dividend_satang")
