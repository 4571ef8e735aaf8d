"""The audit log in the database: appending to the hash chain and reading it back.

Appending locks the single `audit_head` row, so records are numbered and chained in one order
even when many transactions write at once, from one server process or several (the lock is the
database's); the lock is taken last in every transaction (after
balance rows), which keeps the lock order the same everywhere.

Each record holds the content hashes of the entries it names (`store.entry_content`), and
verifying recomputes them from the entry and posting rows as well as the chain.
"""

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from ledger.audit import Digest, StoredRecord, Verification, canonical, chain_hash, verify_chain
from store import entry_content
from store.books import not_found
from store.tables import AuditHead, AuditRecord

audit_t = AuditRecord.__table__
head_t = AuditHead.__table__

HASHED_FIELDS = (
    "seq", "recorded_at", "actor", "role", "action", "target", "request_id",
    "idempotency_key", "request_hash", "outcome", "entry_ids",
)  # fmt: skip
READ_BATCH = 5_000
_LOCK_HEAD = select(head_t).where(head_t.c.id == 1).with_for_update()
_INSERT_RECORD = insert(audit_t)
_MOVE_HEAD = update(head_t).where(head_t.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))


def append(connection: Connection, fields: dict[str, Any]) -> Digest:
    """Append one record (every field of HASHED_FIELDS but seq) and return the new head."""
    return append_many(connection, [fields])


def append_many(connection: Connection, records: Sequence[dict[str, Any]]) -> Digest:
    """Append records in order, under one lock of the head, and return the new head. Each record
    takes the content hashes of the entries it names; a record may bring more `content` (the
    content epoch's)."""
    contents = [
        {**fields.get("content", {}), "entries": entry_content.take_hashes(connection, fields["entry_ids"])}
        for fields in records
    ]
    head = connection.execute(_LOCK_HEAD).one()
    previous, rows = Digest(head.seq, head.hash), []
    for fields, content in zip(records, contents, strict=True):
        hashed = {name: fields[name] for name in HASHED_FIELDS if name not in ("seq", "entry_ids")}
        hashed |= {"seq": previous.seq + 1, "entry_ids": json.dumps(fields["entry_ids"])}
        hashed |= {"content": canonical(content).decode()}
        record_hash = chain_hash(previous.hash, hashed)
        rows.append({**hashed, "previous_hash": previous.hash, "hash": record_hash})
        previous = Digest(previous.seq + 1, record_hash)
    connection.execute(_INSERT_RECORD, rows)
    connection.execute(_MOVE_HEAD, {"new_seq": previous.seq, "new_hash": previous.hash})
    return previous


def digest(connection: Connection) -> Digest:
    head = connection.execute(select(head_t).where(head_t.c.id == 1)).one()
    return Digest(head.seq, head.hash)


def verify(connection: Connection, expected: Digest | None = None) -> Verification:
    """Recompute the whole chain against the head kept here and, if given, a digest kept
    elsewhere; then the content hashes of the entries its records vouch for."""
    chain = verify_chain(stored_records(connection), expected, head=digest(connection))
    if not chain.ok:
        return chain
    found = entry_content.first_problem(connection)
    if found is None:
        return chain
    return replace(chain, ok=False, first_bad_seq=found.seq, first_bad_entry=found.entry_id, problem=found.problem)


def stored_records(connection: Connection) -> Iterator[StoredRecord]:
    """Every record in sequence order, read in batches so memory stays flat."""
    after = 0
    while True:
        query = select(audit_t).where(audit_t.c.seq > after).order_by(audit_t.c.seq).limit(READ_BATCH)
        rows = connection.execute(query).mappings().all()
        for row in rows:
            yield StoredRecord(row["seq"], _hashed(row), row["previous_hash"], row["hash"])
        if len(rows) < READ_BATCH:
            return
        after = rows[-1]["seq"]


def _hashed(row) -> dict[str, Any]:
    """What a stored record's hash covers: its content too, unless written before there was any."""
    fields = {n: row[n] for n in HASHED_FIELDS}
    return fields if row["content"] is None else fields | {"content": row["content"]}


def list_records(connection: Connection, *, after: int, limit: int) -> list[dict[str, Any]]:
    query = select(audit_t).where(audit_t.c.seq > after).order_by(audit_t.c.seq).limit(limit)
    return _read(connection, query)


def recent_records(connection: Connection, *, before: int | None, limit: int,
                   filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The latest records first, those before the sequence number `before` if given. `filters`
    may name an `actor` and an `action` (each equal: indexes with the sequence number lead with
    them, migration 0020), and moments `since` (included) and `until` (excluded)."""
    query = select(audit_t).order_by(audit_t.c.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(audit_t.c.seq < before)
    filters = filters or {}
    for name in ("actor", "action"):
        if filters.get(name):
            query = query.where(audit_t.c[name] == filters[name])
    # recorded_at is ISO 8601 in UTC, all in one form, so the text sorts as the moments do
    if filters.get("since"):
        query = query.where(audit_t.c.recorded_at >= filters["since"].astimezone(UTC).isoformat())
    if filters.get("until"):
        query = query.where(audit_t.c.recorded_at < filters["until"].astimezone(UTC).isoformat())
    return _read(connection, query)


def get_record(connection: Connection, seq: int) -> dict[str, Any]:
    found = _read(connection, select(audit_t).where(audit_t.c.seq == seq))
    if not found:
        raise not_found("audit record", seq)
    return found[0]


def records_writing(connection: Connection, entry_id: int) -> list[dict[str, Any]]:
    """The records of the writes that recorded this entry (one, unless a replay named it again).

    A record names its entries in `entry_ids`, a JSON list hashed with the record; the text is
    narrowed with LIKE and the list read back, so that entry 12 does not find entry 123's."""
    query = select(audit_t).where(audit_t.c.entry_ids.like(f"%{entry_id}%")).order_by(audit_t.c.seq)
    return [r for r in _read(connection, query) if entry_id in r["entry_ids"]]


def _read(connection: Connection, query) -> list[dict[str, Any]]:
    records = [dict(r) for r in connection.execute(query).mappings()]
    for record in records:
        record["entry_ids"] = json.loads(record["entry_ids"])
        record["content"] = None if record["content"] is None else json.loads(record["content"])
    return records


def append_system(
    connection: Connection, *, actor: str, action: str, target: str, request: bytes, entry_ids: list[int], now
) -> Digest:
    """Audit a write made from the command line rather than through the API."""
    return append(connection, {
        "recorded_at": now.isoformat(), "actor": actor, "role": "admin", "action": action,
        "target": target, "request_id": uuid.uuid4().hex, "idempotency_key": None,
        "request_hash": hashlib.sha256(request).hexdigest(), "outcome": "ok", "entry_ids": entry_ids,
    })  # fmt: skip
