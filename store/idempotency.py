"""Idempotency records: the answer to a write, kept under its key in the same transaction as
the write's effect, so a retried request gets the same answer and causes nothing new
(invariant 5). Keys are scoped to the user who sent them.

An answer that holds a party's personal data is kept with its masked fields masked and names
that party (`party_id`), so that the party's export finds it and its erasure empties it."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from store.rows import insert_rows, one_of
from store.tables import IdempotencyRecord

idempotency_t = IdempotencyRecord.__table__


@dataclass(frozen=True)
class StoredAnswer:
    request_hash: str
    status_code: int
    body: str
    party_id: int | None = None  # the party whose personal data `body` holds


def find(connection: Connection, *, user_id: int, key: str) -> StoredAnswer | None:
    return find_many(connection, [(user_id, key)]).get((user_id, key))


def find_many(connection: Connection, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], StoredAnswer]:
    """The stored answers of those (user id, key) pairs that have one."""
    wanted = set(keys)
    user_ids, keys_only = sorted({u for u, _ in wanted}), sorted({k for _, k in wanted})
    rows = connection.execute(select(idempotency_t).where(
        one_of(connection, idempotency_t.c.user_id, user_ids), one_of(connection, idempotency_t.c.key, keys_only)
    ))  # fmt: skip
    return {
        (r.user_id, r.key): StoredAnswer(r.request_hash, r.status_code, r.response_body)
        for r in rows
        if (r.user_id, r.key) in wanted
    }


def save(connection: Connection, *, user_id: int, key: str, answer: StoredAnswer, now: datetime) -> None:
    save_many(connection, [(user_id, key, answer)], now=now)


def save_many(connection: Connection, answers: Sequence[tuple[int, str, StoredAnswer]], *, now: datetime) -> None:
    """Keep each (user id, key)'s answer, in one statement."""
    insert_rows(connection, idempotency_t, [
        {"user_id": user_id, "key": key, "request_hash": answer.request_hash,
         "status_code": answer.status_code, "response_body": answer.body, "party_id": answer.party_id,
         "created_at": now}
        for user_id, key, answer in answers
    ])  # fmt: skip


def empty_personal_fields(connection: Connection, party_id: int, names: frozenset[str]) -> None:
    """Set the fields `names` to null in every saved answer that holds the party's personal data."""
    holding = select(idempotency_t).where(idempotency_t.c.party_id == party_id)
    for record in connection.execute(holding).all():
        body = json.dumps(_emptied(json.loads(record.response_body), names), ensure_ascii=False)
        keys = (idempotency_t.c.user_id == record.user_id, idempotency_t.c.key == record.key)
        connection.execute(update(idempotency_t).where(*keys).values(response_body=body))


def _emptied(value: Any, names: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {name: None if name in names else _emptied(part, names) for name, part in value.items()}
    if isinstance(value, list):
        return [_emptied(part, names) for part in value]
    return value


def is_duplicate_key(error: IntegrityError) -> bool:
    """Whether `error` says another transaction saved this user's key first."""
    diagnostics = getattr(error.orig, "diag", None)
    if diagnostics is not None:  # PostgreSQL names the constraint
        return diagnostics.constraint_name == "idempotency_record_pkey"
    return "idempotency_record.user_id, idempotency_record.key" in str(error.orig)
