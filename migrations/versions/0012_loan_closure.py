"""Loans ended before they are (fully) disbursed: an application rejected or withdrawn, an
approved loan cancelled before any tranche.

- `loan.status` admits `rejected`, `withdrawn` and `cancelled` (ck_loan_status), and a rejected
  or withdrawn application has no approver (ck_loan_approved).
- `loan.closure_reason`: why it was rejected, withdrawn or cancelled (`closed_on` holds the
  business date; the audit log who). A cancelled remainder of a partly disbursed loan needs no
  column: a schedule version records it (store.loans.REMAINDER_CANCELLED).

On SQLite a CHECK constraint cannot be altered, and the loan table cannot be rebuilt while the
tables that reference it hold rows (foreign keys are on, and the migration runs in a
transaction): the constraint's text is replaced in the schema itself (PRAGMA writable_schema,
the procedure sqlite.org/lang_altertable.html gives for changing a CHECK constraint), which
is safe because every row already meets the wider constraint; the schema version is bumped so
that every connection reads the schema again.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD_STATUS = "status IN ('applied', 'approved', 'active', 'closed', 'written_off')"
NEW_STATUS = "status IN ('applied', 'approved', 'active', 'closed', 'written_off', 'rejected', 'withdrawn', 'cancelled')"
OLD_APPROVED = "status = 'applied' OR approved_by IS NOT NULL"
NEW_APPROVED = "status IN ('applied', 'rejected', 'withdrawn') OR approved_by IS NOT NULL"
ENDED = "('rejected', 'withdrawn', 'cancelled')"


def _sqlite_replace(pairs: list[tuple[str, str]]) -> None:
    bind = op.get_bind()
    [sql] = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'loan'")).scalars()
    for old, new in pairs:
        assert sql.count(old) == 1, old
        sql = sql.replace(old, new)
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    op.execute("PRAGMA writable_schema = ON")
    bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'loan'"), {"sql": sql})
    op.execute(f"PRAGMA schema_version = {version + 1}")
    op.execute("PRAGMA writable_schema = OFF")


def _checks(pairs: list[tuple[str, str]]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_replace(pairs)
        return
    for name, (_, new) in zip(("ck_loan_status", "ck_loan_approved"), pairs, strict=True):
        op.drop_constraint(name, "loan", type_="check")
        op.create_check_constraint(name, "loan", new)


def upgrade() -> None:
    _checks([(OLD_STATUS, NEW_STATUS), (OLD_APPROVED, NEW_APPROVED)])
    op.add_column("loan", sa.Column("closure_reason", sqlmodel.sql.sqltypes.AutoString(500), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    ended = bind.execute(sa.text(f"SELECT count(*) FROM loan WHERE status IN {ENDED}")).scalar_one()
    if ended:
        raise RuntimeError(f"{ended} loans were rejected, withdrawn or cancelled: 0011 cannot express them")
    with op.batch_alter_table("loan") as batch:  # SQLite >= 3.35 drops a column in place
        batch.drop_column("closure_reason")
    _checks([(NEW_STATUS, OLD_STATUS), (NEW_APPROVED, OLD_APPROVED)])
