"""Idempotency records: the answer to a write, kept under its key in the same transaction as
the write's effect, so a retried request gets the same answer and causes nothing new
(invariant 5). Keys are scoped to the user who sent them."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from store.rows import insert_rows, one_of
from store.tables import IdempotencyRecord

idempotency_t = IdempotencyRecord.__table__


@dataclass(frozen=True)
class StoredAnswer:
    request_hash: str
    status_code: int
    body: str


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
         "status_code": answer.status_code, "response_body": answer.body, "created_at": now}
        for user_id, key, answer in answers
    ])  # fmt: skip


def is_duplicate_key(error: IntegrityError) -> bool:
    """Whether `error` says another transaction saved this user's key first."""
    diagnostics = getattr(error.orig, "diag", None)
    if diagnostics is not None:  # PostgreSQL names the constraint
        return diagnostics.constraint_name == "idempotency_record_pkey"
    return "idempotency_record.user_id, idempotency_record.key" in str(error.orig)
