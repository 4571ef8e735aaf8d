"""Dump and restore: a whole database as one file of JSON lines, carried between SQLite and
PostgreSQL in either direction.

The file is a header line (`format`, the schema revision, where it came from), one line per row
(`{"t": table, "r": {column: value}}`, dates and times in ISO 8601) and a trailer line with the
row count of every table and the audit digest; a file cut short has no trailer and is refused.

Every table of the SQLModel metadata is carried, so tables added later travel without a change
here. What is not carried as it is:

- columns marked secret (`store.tables.SECRET`, the token hashes): users keep their names,
  roles and dates, and each gets a hash no token matches, so tokens must be issued anew;
- tables marked secret (passwords, setup codes and sessions of the pages): not at all, so
  people are given new setup codes;
- tables the database's own triggers keep (`KEPT_BY_TRIGGERS`, the balances and month
  movements): the restored postings rebuild them, and the restore then checks that what they
  rebuilt equals what was dumped;
- columns a trigger would hold against the rows before them (`SET_AFTER_ROWS`: a book's closed
  period refuses entries dated in it), written once every row is in.

A restore goes into a freshly migrated, empty database, in one transaction, respecting every
guard the migrations created: rows are inserted (never updated, except the rows migrations seed,
like the audit head), tables in foreign-key order, except that a deferred foreign key (a posting's
entry) is the sign of a row written before the row it names, as the journal writes them: postings,
then their entry, which the balanced-entry trigger then checks. On PostgreSQL the sequences are
moved past the restored ids. The restore ends by comparing row counts, the rebuilt balances and
the audit digest with the dump, and verifying the audit chain; any difference rolls it all back.
"""

import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Sequence, Table, func, insert, select, text, update
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (the tables join the metadata)
from ledger.audit import Digest
from store import audit_log
from store.engine import Database

FORMAT = "codi-ledger-dump"
VERSION = 1
BATCH = 1000
KEPT_BY_TRIGGERS = ("account_balance", "account_month")
SET_AFTER_ROWS = {"book": ("closed_through",)}
# A database that has been used holds users and audit records; a freshly migrated one neither.
MUST_BE_EMPTY = ("app_user", "audit_record")


class RestoreError(Exception):
    """The file cannot be restored here, or the restored database differs from the dump."""


@dataclass(frozen=True)
class Summary:
    rows: dict[str, int]
    digest: Digest


def restore_order() -> list[Table]:
    """Every table, each after those its rows name, but a table with a deferred foreign key
    before the table it names (its rows are written first, as the journal writes postings)."""
    tables = {t.name: t for t in SQLModel.metadata.tables.values() if not t.info.get("secret")}
    after: dict[str, set[str]] = {name: set() for name in tables}
    for table in tables.values():
        for key in table.foreign_key_constraints:
            named = key.referred_table.name
            if named == table.name:
                continue  # rows naming rows of their own table follow them in id order
            if key.initially and key.initially.upper() == "DEFERRED":
                after[named].add(table.name)
            else:
                after[table.name].add(named)
    ordered: list[Table] = []
    placed: set[str] = set()
    while len(placed) < len(tables):
        ready = sorted(n for n in tables if n not in placed and after[n] <= placed)
        if not ready:
            raise AssertionError(f"the foreign keys among {sorted(set(tables) - placed)} form a cycle")
        for name in ready:
            ordered.append(tables[name])
            placed.add(name)
    return ordered


# --- dump --------------------------------------------------------------------------------------


def dump(db: Database, out: IO[str]) -> Summary:
    """Write the whole database to `out`, read in one transaction (one consistent state)."""
    with db.read() as connection:
        header = {"format": FORMAT, "version": VERSION, "schema": schema_revision(connection), "origin": db.dialect}
        out.write(json.dumps(header) + "\n")
        counts: dict[str, int] = {}
        for table in restore_order():
            counts[table.name] = 0
            for row in _rows(connection, table):
                out.write(json.dumps({"t": table.name, "r": row}, ensure_ascii=False) + "\n")
                counts[table.name] += 1
        summary = Summary(counts, audit_log.digest(connection))
        trailer = {"end": {"rows": counts, "digest": {"seq": summary.digest.seq, "hash": summary.digest.hash}}}
        out.write(json.dumps(trailer) + "\n")
    return summary


def _rows(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    columns = [c for c in table.columns if not c.info.get("secret")]
    query = select(*columns).order_by(*table.primary_key.columns)
    for row in connection.execution_options(yield_per=BATCH).execute(query).mappings():
        yield {name: _to_json(value) for name, value in row.items()}


def _to_json(value: Any) -> Any:
    if isinstance(value, date):  # and datetime, a date too
        return value.isoformat()
    assert value is None or isinstance(value, str | int | bool), f"no JSON form for {type(value)}"
    return value


def schema_revision(connection: Connection) -> str:
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


# --- restore -----------------------------------------------------------------------------------


def restore(db: Database, lines: Iterable[str]) -> Summary:
    """Restore a dump into this freshly migrated, empty database, all or nothing."""
    lines = iter(lines)
    header = _header(next(lines, ""))
    tables = {t.name: t for t in restore_order()}
    with db.write() as connection:
        _check_target(connection, header)
        seeded = _seeded_keys(connection, tables.values())
        kept_by_triggers: dict[str, list[dict]] = {name: [] for name in KEPT_BY_TRIGGERS}
        set_after: list[tuple[Table, dict]] = []
        counts: dict[str, int] = dict.fromkeys(tables, 0)
        batch: list[dict] = []
        current: Table | None = None
        trailer = None
        for line in lines:
            item = json.loads(line)
            if "end" in item:
                trailer = item["end"]
                break
            table = tables.get(item["t"])
            if table is None:
                raise RestoreError(f"the dump holds table {item['t']!r}, which this schema does not have")
            row = _from_json(table, item["r"])
            counts[table.name] += 1
            if table.name in kept_by_triggers:
                kept_by_triggers[table.name].append(row)
                continue
            if table is not current or len(batch) == BATCH:
                _write(connection, current, batch, seeded)
                current, batch = table, []
            row, later = _split_late_columns(table, row)
            if later:
                set_after.append((table, later))
            batch.append(row)
        _write(connection, current, batch, seeded)
        if trailer is None:
            raise RestoreError("the dump ends before its trailer: it was cut short")
        for table, values in set_after:
            keys = [c == values[c.name] for c in table.primary_key.columns]
            connection.execute(update(table).where(*keys).values(**values))
        _reset_sequences(connection, tables.values())
        return _check_restored(connection, tables, trailer, counts, kept_by_triggers)


def _header(line: str) -> dict:
    try:
        header = json.loads(line)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise RestoreError(f"not a {FORMAT} file of version {VERSION}")
    return header


def _check_target(connection: Connection, header: dict) -> None:
    here = schema_revision(connection)
    if header["schema"] != here:
        raise RestoreError(f"the dump is of schema {header['schema']}, this database of {here}: migrate first")
    tables = SQLModel.metadata.tables
    if any(connection.execute(select(func.count()).select_from(tables[name])).scalar_one() for name in MUST_BE_EMPTY):
        raise RestoreError("this database is not empty: restore into a freshly migrated one")


def _from_json(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for name, value in row.items():
        kind = _python_type(table.columns[name])
        if value is not None and kind is datetime:
            value = datetime.fromisoformat(value)
        elif value is not None and kind is date:
            value = date.fromisoformat(value)
        values[name] = value
    for column in table.columns:
        if column.info.get("secret"):
            values[column.name] = secrets.token_hex(32)  # a hash no token hashes to
    return values


def _python_type(column) -> type:
    kind = column.type
    kind = getattr(kind, "impl", kind)  # a TypeDecorator (UTCDateTime) says `object`; what it wraps knows
    try:
        return kind.python_type
    except NotImplementedError:
        return object


def _split_late_columns(table: Table, row: dict) -> tuple[dict, dict]:
    late = SET_AFTER_ROWS.get(table.name, ())
    if not any(row.get(name) is not None for name in late):
        return row, {}
    keys = {c.name: row[c.name] for c in table.primary_key.columns}
    return {**row, **dict.fromkeys(late)}, {**keys, **{name: row[name] for name in late}}


def _seeded_keys(connection: Connection, tables: Iterable[Table]) -> dict[str, set[tuple]]:
    """The keys of the rows a freshly migrated database already holds (the audit head)."""
    return {
        table.name: {tuple(r) for r in connection.execute(select(*table.primary_key.columns))}
        for table in tables
        if table.name not in KEPT_BY_TRIGGERS
    }


def _write(connection: Connection, table: Table | None, rows: list[dict], seeded: dict[str, set[tuple]]) -> None:
    """Insert the rows; a row whose key the migrations already wrote replaces that row."""
    if table is None or not rows:
        return
    key_columns = list(table.primary_key.columns)
    fresh = []
    for row in rows:
        key = tuple(row[c.name] for c in key_columns)
        if key in seeded[table.name]:
            connection.execute(
                update(table).where(*[c == v for c, v in zip(key_columns, key, strict=True)]).values(**row)
            )
        else:
            fresh.append(row)
    if fresh:
        connection.execute(insert(table), fresh)


def _reset_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """On PostgreSQL, move each sequence past the largest id restored, so new rows get new ids."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        for column in table.primary_key.columns:
            if _python_type(column) is not int:
                continue
            largest = connection.execute(select(func.max(column))).scalar_one()
            if largest is None:
                continue
            named = column.default.name if isinstance(column.default, Sequence) else None
            serial = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": column.name}
            ).scalar_one()
            for sequence in {named, serial} - {None}:
                connection.execute(text("SELECT setval(CAST(:s AS regclass), :n)"), {"s": sequence, "n": largest})


def _check_restored(
    connection: Connection, tables: dict[str, Table], trailer: dict, counts: dict[str, int], kept: dict[str, list]
) -> Summary:
    if counts != {name: trailer["rows"].get(name, 0) for name in tables}:
        raise RestoreError("the dump's rows do not match the counts its trailer announces")
    for name, table in tables.items():
        present = connection.execute(select(func.count()).select_from(table)).scalar_one()
        if present != counts[name]:
            raise RestoreError(f"{name}: {present} rows after the restore, {counts[name]} in the dump")
    for name, dumped in kept.items():
        table = tables[name]
        keys = list(table.primary_key.columns)
        rebuilt = [dict(r) for r in connection.execute(select(table).order_by(*keys)).mappings()]
        if rebuilt != sorted(dumped, key=lambda r: tuple(r[c.name] for c in keys)):
            raise RestoreError(f"{name}: the rows the restored postings rebuilt differ from the dump's")
    digest = Digest(trailer["digest"]["seq"], trailer["digest"]["hash"])
    verification = audit_log.verify(connection, digest)
    if not verification.ok:
        raise RestoreError(f"the restored audit chain does not verify: {verification.problem}")
    return Summary(counts, digest)


def dump_file(db: Database, path: Path) -> Summary:
    with open(path, "w", encoding="utf-8") as out:
        return dump(db, out)


def restore_file(db: Database, path: Path) -> Summary:
    with open(path, encoding="utf-8") as lines:
        return restore(db, lines)
