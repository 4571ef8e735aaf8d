"""A party's data in one piece (data portability under Thailand's PDPA).

What the ledger holds about a party is found from the schema, so tables added later are carried
without a change here: the party's row; every row of every table whose foreign key names the
party (its books, its sub-ledger accounts, its loans, its users, ...); every row whose foreign key
names one of those (the accounts and entries of its books, the postings and balances of its
sub-ledger accounts, its loans' schedules and transactions, ...); and the journal entries it may
read, with their postings. Rows reached through its users stop there: what a user did elsewhere is the
other party's data. Other parties (an incubation centre's members) are theirs, not its.
"""

from typing import Any

from sqlalchemy import Connection, Table, select
from sqlmodel import SQLModel

from store import books, journal
from store.tables import AppUser

ENTRY_PAGE = 1000
NOT_FOLLOWED = frozenset({AppUser.__tablename__, books.party_t.name})

Records = dict[str, dict[tuple, dict[str, Any]]]  # table -> primary key -> row


def party_export(connection: Connection, party_id: int) -> tuple[dict, dict[str, list[dict]], list[dict]]:
    """The party's row, the rows about it by table, and the entries it may read."""
    party = books.get_party(connection, party_id)
    records: Records = {}
    first = _rows_naming(connection, books.party_t, [party_id], records)
    for table, rows in first.items():
        key = _single_key(table)
        if table.name not in NOT_FOLLOWED and key:
            _rows_naming(connection, table, [row[key] for row in rows], records)
    by_table = {name: [row for _, row in sorted(rows.items())] for name, rows in records.items() if rows}
    return party, by_table, _visible_entries(connection, party_id)


def _rows_naming(connection: Connection, named: Table, keys: list, records: Records) -> dict[Table, list[dict]]:
    """Every row, in any table but `named`'s own, whose foreign key names one of `keys` (the
    primary key of `named`); added to `records` and returned by table."""
    found: dict[Table, list[dict]] = {}
    for table in SQLModel.metadata.sorted_tables:
        links = [k for k in table.foreign_keys if k.column.table is named and k.column.primary_key]
        if table is named or not links or not keys:
            continue
        kept = records.setdefault(table.name, {})
        for link in links:
            query = select(table).where(link.parent.in_(keys))
            for row in connection.execute(query).mappings():
                kept[tuple(row[c.name] for c in table.primary_key.columns)] = dict(row)
                found.setdefault(table, []).append(dict(row))
    return found


def _single_key(table: Table) -> str | None:
    columns = list(table.primary_key.columns)
    return columns[0].name if len(columns) == 1 else None


def _visible_entries(connection: Connection, party_id: int) -> list[dict]:
    entries, after = [], 0
    while page := journal.list_entries(
        connection, filters={}, visible_to_party=party_id, after=after, limit=ENTRY_PAGE
    ):
        entries.extend(page)
        after = page[-1]["id"]
    return entries
