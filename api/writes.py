"""Running a write: one transaction holding the effect, its idempotency record and its audit
record; a refused write is audited too, in a transaction of its own.

    perform(request, principal, action, work)
      work(connection, now) -> Outcome   the effect; raises LedgerError to refuse
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.errors import LedgerError, Rejection
from store import audit_log, idempotency
from store.idempotency import StoredAnswer
from store.users import Principal

RETRIES = 8
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
MAX_KEY_LENGTH = 200


@dataclass
class Outcome:
    body: Any
    target: str
    status_code: int = 200
    entry_ids: list[int] = field(default_factory=list)
    keep_answer: bool = True  # False when the answer holds a secret (a new token)


Work = Callable[[Connection, datetime], Outcome]


@dataclass(frozen=True)
class WriteRequest:
    request_id: str
    request_hash: str
    idempotency_key: str | None


async def describe(request: Request) -> WriteRequest:
    body = await request.body()
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).hexdigest()
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise LedgerError(Rejection.invalid_request, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
    request.state.write = WriteRequest(request_id, digest, key)
    return request.state.write


def perform(
    request: Request,
    write: WriteRequest,
    principal: Principal,
    action: str,
    work: Work,
    *,
    needs_key: bool = False,
) -> Response:
    """Run `work` once for this request, however often the request is retried."""
    if needs_key and write.idempotency_key is None:
        raise LedgerError(
            Rejection.idempotency_key_required, "this request moves money: send an Idempotency-Key header"
        )
    db, clock = request.app.state.db, request.app.state.clock
    audit = _audit_fields(write, principal, action)
    for attempt in range(RETRIES):
        try:
            return db.run_write(lambda connection: _run(connection, write, principal, audit, work, clock.now()))
        except LedgerError as error:
            _audit_refusal(db, audit, request.url.path, error.reason, clock.now())
            request.state.refusal_audited = True
            raise
        except IntegrityError as error:
            if not idempotency.is_duplicate_key(error) or attempt == RETRIES - 1:
                raise  # a twin with the same key committed first (another process): answer from its record
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES or attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _run(connection, write: WriteRequest, principal: Principal, audit: dict, work: Work, now: datetime) -> Response:
    key = write.idempotency_key
    stored = idempotency.find(connection, user_id=principal.user_id, key=key) if key else None
    if stored is not None:
        if stored.request_hash != write.request_hash:
            raise LedgerError(
                Rejection.idempotency_key_reused, f"Idempotency-Key {key!r} was used with another request"
            )
        return Response(
            stored.body, stored.status_code, media_type="application/json", headers={"Idempotent-Replayed": "true"}
        )
    outcome = work(connection, now)
    body = "" if outcome.body is None else json.dumps(jsonable_encoder(outcome.body), ensure_ascii=False)
    if key and outcome.keep_answer:
        answer = StoredAnswer(write.request_hash, outcome.status_code, body)
        idempotency.save(connection, user_id=principal.user_id, key=key, answer=answer, now=now)
    audit_log.append(connection, {**audit, "recorded_at": now.isoformat(), "target": outcome.target,
                                  "outcome": "ok", "entry_ids": outcome.entry_ids})  # fmt: skip
    return Response(body, outcome.status_code, media_type="application/json")


def _audit_fields(write: WriteRequest, principal: Principal, action: str) -> dict[str, Any]:
    return {
        "actor": principal.name, "role": principal.role, "action": action,
        "request_id": write.request_id, "idempotency_key": write.idempotency_key,
        "request_hash": write.request_hash,
    }  # fmt: skip


def _audit_refusal(db, audit: dict, target: str, reason: str, now: datetime) -> None:
    record = {**audit, "recorded_at": now.isoformat(), "target": target[:200], "outcome": f"refused: {reason}",
              "entry_ids": []}  # fmt: skip
    db.run_write(lambda connection: audit_log.append(connection, record))


def audit_refused_attempt(request: Request, reason: str) -> None:
    """Audit a write refused before it ran (bad role, malformed body), when we know who sent it.

    Requests without a valid token are not audited: anyone could fill the chain with them.
    """
    principal = getattr(request.state, "principal", None)
    if request.method in ("GET", "HEAD", "OPTIONS") or principal is None:
        return
    if getattr(request.state, "refusal_audited", False):
        return
    write = getattr(request.state, "write", None) or WriteRequest(
        uuid.uuid4().hex, hashlib.sha256(f"{request.method} {request.url.path}".encode()).hexdigest(), None
    )
    action = f"{request.method} {request.scope.get('route').path if request.scope.get('route') else request.url.path}"
    audit = _audit_fields(write, principal, action[:60])
    _audit_refusal(request.app.state.db, audit, request.url.path, reason, request.app.state.clock.now())


Write = Annotated[WriteRequest, Depends(describe)]
