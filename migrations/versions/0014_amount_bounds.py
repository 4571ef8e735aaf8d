"""Amounts stay whole satang inside their bounds (ledger.money), whatever writes them.

- `posting.amount_satang`: at most MAX_AMOUNT_SATANG (999,999,999,999.99 baht) either way.
- `account_balance.balance_satang` and `account_month.movement_satang`: at most
  MAX_BALANCE_SATANG (9,999,999,999,999.99 baht) either way.

The domain refuses an entry that would carry a balance or a month past its bound
(`balance_out_of_range`) before anything is written; these constraints make the database refuse
it too. On SQLite an integer sum that overflows becomes a REAL (9.24999999999991e+18), which a
BIGINT column keeps as it is: there each constraint also asks `typeof(...) = 'integer'`. The
bounds are written here as numbers, not imported, so that this revision says the same thing
whatever ledger.money says later (tests/test_amount_bounds.py checks that they agree today).

On SQLite a constraint cannot be added to a table, and these tables cannot be rebuilt while the
tables that reference them hold rows: the constraint's text is added to the schema itself, as
0012 does (PRAGMA writable_schema), after checking that every row already meets it.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

MAX_AMOUNT_SATANG = 10**14 - 1
MAX_BALANCE_SATANG = 10**15 - 1
BOUNDS = {  # table: (constraint, column, bound)
    "posting": ("ck_posting_amount_in_range", "amount_satang", MAX_AMOUNT_SATANG),
    "account_balance": ("ck_balance_in_range", "balance_satang", MAX_BALANCE_SATANG),
    "account_month": ("ck_month_in_range", "movement_satang", MAX_BALANCE_SATANG),
}


def condition(column: str, bound: int, dialect: str) -> str:
    in_range = f"{column} BETWEEN -{bound} AND {bound}"
    return f"typeof({column}) = 'integer' AND {in_range}" if dialect == "sqlite" else in_range


def _check_rows(table: str, column: str, bound: int, dialect: str) -> None:
    bind = op.get_bind()
    outside = bind.execute(sa.text(f"SELECT count(*) FROM {table} WHERE NOT ({condition(column, bound, dialect)})"))
    if count := outside.scalar_one():
        raise RuntimeError(f"{count} rows of {table} have a {column} outside +-{bound}: mend them first")


def _sqlite_schema(edit) -> None:
    """Rewrite each bounded table's CREATE statement with `edit(table, sql)`."""
    bind = op.get_bind()
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    op.execute("PRAGMA writable_schema = ON")
    for table in BOUNDS:
        query = sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t")
        sql = bind.execute(query, {"t": table}).scalar_one()
        update = sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :t")
        bind.execute(update, {"sql": edit(table, sql), "t": table})
    op.execute(f"PRAGMA schema_version = {version + 1}")
    op.execute("PRAGMA writable_schema = OFF")


def _sqlite_clause(table: str) -> str:
    name, column, bound = BOUNDS[table]
    return f",\n\tCONSTRAINT {name} CHECK ({condition(column, bound, 'sqlite')})"


def _with_clause(table: str, sql: str) -> str:
    assert sql.rstrip().endswith(")") and _sqlite_clause(table) not in sql, table
    body = sql.rstrip()[:-1].rstrip()
    return f"{body}{_sqlite_clause(table)}\n)"


def _without_clause(table: str, sql: str) -> str:
    assert sql.count(_sqlite_clause(table)) == 1, table
    return sql.replace(_sqlite_clause(table), "")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, (name, column, bound) in BOUNDS.items():
        _check_rows(table, column, bound, dialect)
        if dialect != "sqlite":
            op.create_check_constraint(name, table, condition(column, bound, dialect))
    if dialect == "sqlite":
        _sqlite_schema(_with_clause)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_schema(_without_clause)
        return
    for table, (name, _, _) in BOUNDS.items():
        op.drop_constraint(name, table, type_="check")
