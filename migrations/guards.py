"""The append-only guard that the migrations from 0006 on put on their event tables.

On PostgreSQL a statement trigger calls `refuse_change()`, the function migration 0002 made for
entries (it refuses TRUNCATE too); on SQLite two row triggers abort UPDATE and DELETE. A table's
triggers go when the table is dropped, on both dialects, so a downgrade needs nothing of this.
"""

from collections.abc import Iterable


def append_only(dialect: str, tables: Iterable[str]) -> list[str]:
    """The statements that make `tables` append-only on `dialect`."""
    if dialect == "postgresql":
        return [
            f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"""
            for table in tables
        ]
    return [
        f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN
            SELECT RAISE(ABORT, 'append_only: {table} rows are never changed or removed');
        END"""
        for table in tables
        for verb in ("UPDATE", "DELETE")
    ]
