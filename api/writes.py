"""Running a write: one transaction holding the effect, its idempotency record and its audit
record; a refused write is audited too, in a transaction of its own.

    perform(request, write, principal, action, work)
      work(connection, now) -> Outcome   the effect; raises LedgerError to refuse

    perform_batched(request, write, principal, action, item, work_many)
      work_many(connection, now, items) -> [Outcome or LedgerError]   the effects of a batch

The service's writes are committed in groups (store.group_commit). A batched write goes further:
the requests of one kind that a group holds share their statements (one key lookup, one
`work_many`, one insert of answers, one audit append); a refusal is audited in the same
transaction.
"""

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from api import logs
from ledger.errors import LedgerError, Rejection
from store import audit_log, entry_content, idempotency
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
    # When the answer holds a party's personal data: that party, and the answer as it is kept for
    # replays, masked fields masked whoever asked (a replay to an admin shows them masked too).
    personal_of: int | None = None
    kept_body: Any = None


Work = Callable[[Connection, datetime], Outcome]
WorkMany = Callable[[Connection, datetime, list[Any]], list[Outcome | LedgerError]]


@dataclass(frozen=True)
class WriteRequest:
    request_id: str
    request_hash: str
    idempotency_key: str | None
    creates: bool = False  # the route creates something (answers 201 or 202): it needs a key


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", min_length=1, max_length=MAX_KEY_LENGTH,
        description="Makes the write safe to send again: the same key with the same body has one effect and "
        "gets the same answer; with another body, 409 idempotency_key_reused. Writes that create something "
        "(201, 202) or move money require it (422 idempotency_key_required). Keys belong to the user who sent them.",
    ),
]  # fmt: skip


CREATED_STATUSES = frozenset({201, 202})  # a new object, or a new admin command that proposes one


async def describe(request: Request, key: IdempotencyKey = None) -> WriteRequest:
    body = await request.body()
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).hexdigest()
    request.state.write = WriteRequest(_request_id(request), digest, key, creates=creates(request))
    refuse_unkeyed_create(request)
    return request.state.write


def creates(request: Request) -> bool:
    """Whether the request's route creates something: a POST that answers 201 or 202. Such a
    route needs an Idempotency-Key, as entries do, so that a double submit creates one object."""
    route = request.scope.get("route")
    return request.method == "POST" and getattr(route, "status_code", None) in CREATED_STATUSES


def refuse_unkeyed_create(request: Request) -> None:
    """Refuse a create without a key once both its caller's role is allowed and its write is
    described, whichever of the two dependencies runs last: after 401 and 403, before the body
    is validated (a malformed body without a key is told first about the key)."""
    write = getattr(request.state, "write", None)
    if write is not None and getattr(request.state, "role_allowed", False):
        _require_key(write, write.creates)


def _request_id(request: Request) -> str:
    """The request's id, the same in its audit record and its log line (api.logs)."""
    return logs.request_id(request.scope)


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
    _require_key(write, needs_key or write.creates)
    db, clock = request.app.state.db, request.app.state.clock
    audit = _audit_fields(write, principal, action)
    try:
        return _retrying(lambda: db.run_write(lambda c: _run(c, write, principal, audit, work, clock.now())))
    except LedgerError as error:
        _audit_refusal(db, audit, request.url.path, error.reason, clock.now())
        request.state.refusal_audited = True
        raise


async def perform_batched(
    request: Request, write: WriteRequest, principal: Principal, action: str, item: Any, work_many: WorkMany
) -> Response:
    """Like `perform`, for a write that can share its batch's statements: `work_many` does the
    work of every such request that group commit takes together (money moves: a key is needed).
    The request waits on the event loop, holding no thread, while its batch runs."""
    _require_key(write, True)
    pending = BatchedWrite(
        write, principal, _audit_fields(write, principal, action), request.url.path, item, work_many,
        request.app.state.clock,
    )  # fmt: skip
    for attempt_number in range(1, RETRIES + 1):
        try:
            return await asyncio.wrap_future(request.app.state.db.submit_write(pending))
        except LedgerError:
            request.state.refusal_audited = True  # in the batch's own transaction
            raise
        except DBAPIError as error:
            if not _retryable(error, attempt_number):
                raise
    raise AssertionError("unreachable")


def _require_key(write: WriteRequest, needs_key: bool) -> None:
    if needs_key and write.idempotency_key is None:
        raise LedgerError(
            Rejection.idempotency_key_required,
            "this request creates something or moves money: send an Idempotency-Key header, so that sending it "
            "again has one effect",
        )


def _retrying(attempt: Callable[[], Response]) -> Response:
    for attempt_number in range(1, RETRIES + 1):
        try:
            return attempt()
        except DBAPIError as error:
            if not _retryable(error, attempt_number):
                raise
    raise AssertionError("unreachable")


def _retryable(error: DBAPIError, attempt_number: int) -> bool:
    """Whether to try again: a twin request with the same key committed first (its answer is
    then replayed), or PostgreSQL gave up a transaction to a deadlock or a serialization failure."""
    if attempt_number == RETRIES:
        return False
    if isinstance(error, IntegrityError):
        return idempotency.is_duplicate_key(error)
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def _run(connection, write: WriteRequest, principal: Principal, audit: dict, work: Work, now: datetime) -> Response:
    key = write.idempotency_key
    stored = idempotency.find(connection, user_id=principal.user_id, key=key) if key else None
    if stored is not None:
        return _replay(stored, write)
    began = entry_content.mark(connection)
    outcome = work(connection, now)
    body = _encoded(outcome.body)
    if key and outcome.keep_answer:
        answer = _to_keep(write, outcome, body)
        idempotency.save(connection, user_id=principal.user_id, key=key, answer=answer, now=now)
    entry_ids = entry_content.written_since(connection, began, named=outcome.entry_ids)
    audit_log.append(connection, _record(audit, now, outcome.target, "ok", entry_ids))
    return Response(body, outcome.status_code, media_type="application/json")


def _replay(stored: StoredAnswer, write: WriteRequest) -> Response:
    if stored.request_hash != write.request_hash:
        key = write.idempotency_key
        raise LedgerError(Rejection.idempotency_key_reused, f"Idempotency-Key {key!r} was used with another request")
    replayed = {"Idempotent-Replayed": "true"}
    return Response(stored.body, stored.status_code, media_type="application/json", headers=replayed)


def _encoded(body: Any) -> str:
    if isinstance(body, BaseModel):
        return body.model_dump_json(by_alias=True)
    return "" if body is None else json.dumps(jsonable_encoder(body), ensure_ascii=False)


def _to_keep(write: WriteRequest, outcome: Outcome, body: str) -> StoredAnswer:
    kept = body if outcome.kept_body is None else _encoded(outcome.kept_body)
    return StoredAnswer(write.request_hash, outcome.status_code, kept, party_id=outcome.personal_of)


def _record(audit: dict, now: datetime, target: str, outcome: str, entry_ids: list[int]) -> dict[str, Any]:
    return {**audit, "recorded_at": now.isoformat(), "target": target[:200], "outcome": outcome, "entry_ids": entry_ids}


@dataclass(eq=False)
class BatchedWrite:
    """One request's part in a batch: the item its `work_many` needs, and what answering it takes.

    The batch looks up every key at once, runs `work_many` over the requests not seen before,
    saves their answers in one insert and audits them, refusals included, in one append. A key
    sent twice within a batch waits for a later round, which replays the first one's answer.
    """

    write: WriteRequest
    principal: Principal
    audit: dict
    path: str
    item: Any
    work_many: WorkMany
    clock: Any

    @property
    def batch_key(self) -> object:
        return self.work_many

    def run_many(self, connection: Connection, writes: list["BatchedWrite"]) -> list[Response | LedgerError]:
        now = self.clock.now()
        answers: dict[int, Response | LedgerError] = {}
        for round_ in _rounds(writes):
            answers |= _answer_round(connection, round_, now)
        return [answers[id(w)] for w in writes]


def _rounds(writes: list[BatchedWrite]) -> list[list[BatchedWrite]]:
    """The writes in order, split so that no (user, key) comes twice in one round."""
    rounds: list[tuple[set, list[BatchedWrite]]] = []
    for write in writes:
        key = (write.principal.user_id, write.write.idempotency_key)
        place = next((r for r in rounds if key not in r[0]), None)
        if place is None:
            place = (set(), [])
            rounds.append(place)
        place[0].add(key)
        place[1].append(write)
    return [writes for _, writes in rounds]


def _answer_round(connection: Connection, writes: list[BatchedWrite], now: datetime) -> dict[int, Any]:
    stored = idempotency.find_many(connection, [_key_of(w) for w in writes])
    fresh = [w for w in writes if _key_of(w) not in stored]
    outcomes = writes[0].work_many(connection, now, [w.item for w in fresh]) if fresh else []
    settled = {id(w): _settle_known(w, stored[_key_of(w)], now) for w in writes if _key_of(w) in stored}
    settled |= {id(w): _settle(w, outcome, now) for w, outcome in zip(fresh, outcomes, strict=True)}
    ordered = [settled[id(w)] for w in writes]
    if saved := [keep for _, keep, _ in ordered if keep]:
        idempotency.save_many(connection, saved, now=now)
    if records := [record for _, _, record in ordered if record]:
        audit_log.append_many(connection, records)
    return {key: answer for key, (answer, _, _) in settled.items()}


Settled = tuple[Any, tuple[int, str, StoredAnswer] | None, dict | None]  # answer, answer to keep, audit record


def _key_of(write: BatchedWrite) -> tuple[int, str]:
    return write.principal.user_id, write.write.idempotency_key


def _settle(write: BatchedWrite, outcome: "Outcome | LedgerError", now: datetime) -> Settled:
    if isinstance(outcome, LedgerError):
        return outcome, None, _record(write.audit, now, write.path, f"refused: {outcome.reason}", [])
    body = _encoded(outcome.body)
    keep = (*_key_of(write), _to_keep(write.write, outcome, body))
    record = _record(write.audit, now, outcome.target, "ok", outcome.entry_ids)
    return Response(body, outcome.status_code, media_type="application/json"), keep, record


def _settle_known(write: BatchedWrite, stored: StoredAnswer, now: datetime) -> Settled:
    """A key seen before: its answer again, or, with another body, a refusal (audited)."""
    try:
        return _replay(stored, write.write), None, None
    except LedgerError as error:
        return error, None, _record(write.audit, now, write.path, f"refused: {error.reason}", [])


def _audit_fields(write: WriteRequest, principal: Principal, action: str) -> dict[str, Any]:
    return {
        "actor": principal.name, "role": principal.role, "action": action,
        "request_id": write.request_id, "idempotency_key": write.idempotency_key,
        "request_hash": write.request_hash,
    }  # fmt: skip


def _audit_refusal(db, audit: dict, target: str, reason: str, now: datetime) -> None:
    record = _record(audit, now, target, f"refused: {reason}", [])
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


def form_write(request: Request, key: str, fields: dict[str, Any]) -> WriteRequest:
    """A page's form as a write: the idempotency key the form was given when it was rendered,
    and a hash of what it asks (its path and `fields`, the values the operation takes, never the
    CSRF token), so that the form sent twice is one write and the same key sent with other
    values is refused like the API's (`idempotency_key_reused`)."""
    canonical = json.dumps(jsonable_encoder(fields), sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()
    return WriteRequest(_request_id(request), digest, key[:MAX_KEY_LENGTH])


def audit_event(connection: Connection, *, principal: Principal, action: str, target: str, request: Request,
                now: datetime) -> None:  # fmt: skip
    """Audit a write that is not an operation on the ledger (signing in to the pages, setting a
    password), in the caller's transaction: who, what, the request's id and a hash of its path
    and principal, never the form's secrets."""
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n{principal.name}".encode()).hexdigest()
    fields = _audit_fields(WriteRequest(_request_id(request), digest, None), principal, action)
    audit_log.append(connection, _record(fields, now, target, "ok", []))
