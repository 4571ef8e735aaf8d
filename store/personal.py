"""A party's data in one piece (data portability under Thailand's PDPA), and its personal data
erased.

What the ledger holds about a party is found from the schema, so tables added later are carried
without a change here: the party's row; every row of every table whose foreign key names the
party (its books, its sub-ledger accounts, its loans, its users, ...); every row whose foreign key
names one of those (the accounts and entries of its books, the postings and balances of its
sub-ledger accounts, its loans' schedules and transactions, ...); and the journal entries it may
read, with their postings. Rows reached through its users stop there: what a user did elsewhere is the
other party's data. Other parties (an incubation centre's members) are theirs, not its.

Its personal data is in the columns marked `personal` (store.tables) of its row, and in the
saved answers of writes that answered with it (idempotency records naming it): erasure empties
both. A loan's guarantors are the guarantors' data, kept with the loan.
"""

from typing import Any

from sqlalchemy import Connection, Table, select, update
from sqlmodel import SQLModel

from store import books, idempotency, journal
from store.tables import AppUser

ENTRY_PAGE = 1000
NOT_FOLLOWED = frozenset({AppUser.__tablename__, books.party_t.name})

PERSONAL_COLUMNS = frozenset(c.name for c in books.party_t.columns if c.info.get("personal"))

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


def erase(connection: Connection, party_id: int) -> dict:
    """Empty the party's personal columns, in its row and in the answers saved with them; the party after."""
    books.get_party(connection, party_id)
    party_t = books.party_t
    connection.execute(update(party_t).where(party_t.c.id == party_id).values(dict.fromkeys(PERSONAL_COLUMNS)))
    idempotency.empty_personal_fields(connection, party_id, PERSONAL_COLUMNS)
    return books.get_party(connection, party_id)


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
