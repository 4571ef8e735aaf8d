"""On-lending to members (issue 18, item 3).

- `loan_product.codi_rate_annual_percent`: of the rate a member loan product charges, the part
  owed to CODI (a Decimal string; null: no split recorded).
- `loan.funded_by_loan_id`: the CODI loan to the organisation that a member loan is lent out of
  (null: the organisation's own funds).
- `organisation_lending_rule`: an organisation's own rule for lending to its members: a maximum
  as a multiple of the member's savings, a maximum amount, the member guarantors required.
- `loan_member_tier` (triggers): a loan in an organisation's book is lent to one of that
  organisation's members (TIERS.md convention 3), and a loan's funding loan is a loan in a fund
  book to the organisation that owns the loan's book.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None
FOREIGN_KEY = "loan_funded_by_loan_id_fkey"  # the name PostgreSQL gives it by default
NOT_A_MEMBER = "a loan in the book of an organisation is lent to a member of that organisation"
NOT_ITS_FUNDING = "a member loan is funded by a loan of a fund book to the organisation"
# Conditions on NEW (a loan row) that both dialects' triggers refuse.
MEMBER_BREACH = """EXISTS (SELECT 1 FROM book b WHERE b.id = NEW.book_id AND b.kind = 'organisation' AND NOT EXISTS (
    SELECT 1 FROM party p WHERE p.id = NEW.borrower_party_id AND p.kind = 'member' AND p.member_of = b.party_id))"""
FUNDING_BREACH = """NEW.funded_by_loan_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM loan f JOIN book fb ON fb.id = f.book_id JOIN book mb ON mb.id = NEW.book_id
    WHERE f.id = NEW.funded_by_loan_id AND fb.kind = 'fund' AND mb.kind = 'organisation'
      AND f.borrower_party_id = mb.party_id)"""
POSTGRESQL = [
    f"""CREATE FUNCTION loan_member_tier() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF {MEMBER_BREACH} THEN
            RAISE EXCEPTION '{NOT_A_MEMBER}' USING ERRCODE = 'check_violation';
        END IF;
        IF {FUNDING_BREACH} THEN
            RAISE EXCEPTION '{NOT_ITS_FUNDING}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER loan_member_tier BEFORE INSERT OR UPDATE OF book_id, borrower_party_id, funded_by_loan_id
       ON loan FOR EACH ROW EXECUTE FUNCTION loan_member_tier()""",
]
SQLITE_TRIGGERS = [f"{name}{suffix}" for name in ("loan_member_tier", "loan_funding_loan")
                   for suffix in ("", "_on_update")]  # fmt: skip
SQLITE = [
    f"""CREATE TRIGGER {name}{suffix} BEFORE {event} ON loan WHEN {breach}
        BEGIN SELECT RAISE(ABORT, '{message}'); END"""
    for name, breach, message in (("loan_member_tier", MEMBER_BREACH, NOT_A_MEMBER),
                                  ("loan_funding_loan", FUNDING_BREACH, NOT_ITS_FUNDING))
    for suffix, event in (("", "INSERT"), ("_on_update", "UPDATE OF book_id, borrower_party_id, funded_by_loan_id"))
]  # fmt: skip


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
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("organisation_lending_rule")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER loan_member_tier ON loan")
        op.execute("DROP FUNCTION loan_member_tier()")
        op.drop_constraint(FOREIGN_KEY, "loan", type_="foreignkey")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_column("loan", "funded_by_loan_id")  # SQLite >= 3.35 drops a column in place
    op.drop_column("loan_product", "codi_rate_annual_percent")
