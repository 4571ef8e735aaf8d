"""Loan events: penalty charges, write-offs, recoveries, refunds and interest rebates as loan
transactions, and a loan's litigation flag.

- `loan_transaction.kind` admits the new kinds, and a CHECK says which part each one carries
  (a penalty its penalty, a recovery its principal, a refund its overpayment), so the parts
  still sum to the amount (every satang allocated exactly once).
- `loan_transaction.reason`: why a write-off was made (optional for other kinds).
- Close of business charges a loan's penalty at most once a day: a partial unique index.
- `loan.in_litigation` (and why): a rate change for loans meeting a rule skips loans in court.
- `loan_repayment_reversal` (append-only): a repayment re-allocated after a backdated one, the
  entry that reversed it and the loan transaction that re-posted it.

SQLite cannot alter a CHECK constraint, so there the table is rebuilt from its own stored
definition with the kind list changed; its indexes and append-only triggers are re-created as
they were. (SQLite drops a table's triggers before the implicit delete of DROP TABLE, so the
append-only triggers do not refuse the rebuild.) A downgrade is refused while rows of the new
kinds exist: they cannot be expressed in the 0004 schema, and the table is append-only.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_KINDS = "'disbursement', 'repayment', 'accrual', 'accrual_reversal'"
NEW_KINDS = "'penalty', 'write_off', 'recovery', 'refund', 'rebate'"
KIND_PARTS = (
    "(kind <> 'penalty' OR penalty_satang = amount_satang) AND "
    "(kind NOT IN ('recovery') OR principal_satang = amount_satang) AND "
    "(kind <> 'refund' OR overpayment_satang = amount_satang) AND "
    "(kind <> 'rebate' OR principal_satang + penalty_satang = 0)"
)
PENALTY_KIND = "kind = 'penalty'"


def _sqlite_rebuild(old: str, new: str, extra_check: str | None, drop_check: str | None) -> None:
    """Re-create loan_transaction from its stored SQL with the kind list `old` replaced by `new`
    (and a table CHECK added or removed), copying every row; then its indexes and triggers."""
    bind = op.get_bind()

    def stored(kind: str) -> list[str]:
        query = sa.text("SELECT sql FROM sqlite_master WHERE type = :k AND tbl_name = 'loan_transaction' "
                        "AND sql IS NOT NULL ORDER BY name")  # fmt: skip
        return list(bind.execute(query, {"k": kind}).scalars())

    [table] = stored("table")
    indexes, triggers = stored("index"), stored("trigger")
    # after a rename SQLite stores the name quoted: CREATE TABLE "loan_transaction" (
    head, _, body = table.partition("(")
    assert f"kind IN ({old})" in body and head.replace('"', "").split() == ["CREATE", "TABLE", "loan_transaction"]
    table = "CREATE TABLE loan_transaction_new (" + body.replace(f"kind IN ({old})", f"kind IN ({new})")
    if drop_check:
        assert drop_check in table
        table = table.replace(drop_check, "")
    if extra_check:
        table = table.rstrip()[:-1].rstrip() + extra_check + "\n)"
    op.execute(table)
    op.execute("INSERT INTO loan_transaction_new SELECT * FROM loan_transaction")
    op.execute("DROP TABLE loan_transaction")
    op.execute("ALTER TABLE loan_transaction_new RENAME TO loan_transaction")
    for statement in [*indexes, *triggers]:
        op.execute(statement)


def _check_clause() -> str:
    return f",\n\tCONSTRAINT ck_loan_tx_event_parts CHECK ({KIND_PARTS})"


def _links() -> None:
    op.create_table(
        "loan_repayment_reversal",
        sa.Column("original_tx_id", sa.BigInteger(), sa.ForeignKey("loan_transaction.id"), primary_key=True),
        sa.Column("book_id", sa.Integer(), sa.ForeignKey("book.id"), nullable=False),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("reversal_entry_id", sa.BigInteger(), sa.ForeignKey("entry.id"), nullable=False, unique=True),
        sa.Column("reposted_tx_id", sa.BigInteger(), sa.ForeignKey("loan_transaction.id"), nullable=False,
                  unique=True),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
    )  # fmt: skip
    op.create_index("ix_loan_repayment_reversal_book", "loan_repayment_reversal", ["book_id", "loan_id"])
    if op.get_bind().dialect.name == "postgresql":  # refuse_change(): migration 0002
        op.execute("""CREATE TRIGGER loan_repayment_reversal_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
            ON loan_repayment_reversal FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()""")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"""CREATE TRIGGER loan_repayment_reversal_no_{verb.lower()} BEFORE {verb}
            ON loan_repayment_reversal BEGIN
            SELECT RAISE(ABORT, 'append_only: loan_repayment_reversal rows are never changed or removed');
        END""")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(OLD_KINDS, f"{OLD_KINDS}, {NEW_KINDS}", _check_clause(), None)
    else:
        op.drop_constraint("ck_loan_tx_kind", "loan_transaction", type_="check")
        op.create_check_constraint("ck_loan_tx_kind", "loan_transaction", f"kind IN ({OLD_KINDS}, {NEW_KINDS})")
        op.create_check_constraint("ck_loan_tx_event_parts", "loan_transaction", KIND_PARTS)
    op.add_column("loan_transaction", sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(500), nullable=True))
    op.add_column("loan", sa.Column("in_litigation", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("loan", sa.Column("litigation_reason", sqlmodel.sql.sqltypes.AutoString(500), nullable=True))
    op.create_index(
        "uq_loan_tx_penalty_day", "loan_transaction", ["loan_id", "kind", "effective_date"], unique=True,
        sqlite_where=sa.text(PENALTY_KIND), postgresql_where=sa.text(PENALTY_KIND),
    )  # fmt: skip
    _links()


def downgrade() -> None:
    bind = op.get_bind()
    newer = bind.execute(sa.text(f"SELECT count(*) FROM loan_transaction WHERE kind IN ({NEW_KINDS})")).scalar_one()
    if newer:
        raise RuntimeError(f"{newer} loan transactions of kinds 0004 does not know exist; they are never removed")
    if bind.execute(sa.text("SELECT count(*) FROM loan_repayment_reversal")).scalar_one():
        raise RuntimeError("repayments were re-allocated after backdated ones: the links are never removed")
    op.drop_index("ix_loan_repayment_reversal_book", table_name="loan_repayment_reversal")
    op.drop_table("loan_repayment_reversal")  # and its triggers
    op.drop_index("uq_loan_tx_penalty_day", table_name="loan_transaction")
    for column in ("litigation_reason", "in_litigation"):
        if bind.dialect.name == "sqlite":
            op.execute(f"ALTER TABLE loan DROP COLUMN {column}")
        else:
            op.drop_column("loan", column)
    if bind.dialect.name == "sqlite":
        op.execute("ALTER TABLE loan_transaction DROP COLUMN reason")
        _sqlite_rebuild(f"{OLD_KINDS}, {NEW_KINDS}", OLD_KINDS, None, _check_clause())
    else:
        op.drop_column("loan_transaction", "reason")
        op.drop_constraint("ck_loan_tx_event_parts", "loan_transaction", type_="check")
        op.drop_constraint("ck_loan_tx_kind", "loan_transaction", type_="check")
        op.create_check_constraint("ck_loan_tx_kind", "loan_transaction", f"kind IN ({OLD_KINDS})")
