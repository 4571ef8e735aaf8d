"""The audit trail (auditors, admins) and users (admins; one who can approve, through an admin command)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.context import Admin, AuditReader, ReadDep
from api.pages import PageDep, next_cursor
from api.routes.commands import PROPOSED, made_user, propose
from api.schemas import (
    AuditRecordPublic,
    DigestPublic,
    IdPath,
    Page,
    UserCreate,
    UserCreated,
    UserPublic,
    VerificationPublic,
)
from api.writes import Outcome, Write, perform
from ledger.audit import Digest
from store import audit_log, integrity, people, users

router = APIRouter(prefix="/v1")


@router.get("/audit", response_model=Page[AuditRecordPublic], tags=["audit"])
def list_audit(connection: ReadDep, principal: AuditReader, page: PageDep) -> dict:
    rows = audit_log.list_records(connection, after=page.after, limit=page.limit)
    return {"data": rows, "next_cursor": next_cursor(rows, page, key="seq")}


@router.get("/audit/digest", response_model=DigestPublic, tags=["audit"])
def audit_digest(connection: ReadDep, principal: AuditReader) -> Digest:
    """The head of the chain: keep it elsewhere, and later check that nothing up to it changed."""
    return audit_log.digest(connection)


@router.get("/audit/verify", response_model=VerificationPublic, tags=["audit"])
def verify_audit(
    connection: ReadDep,
    principal: AuditReader,
    seq: Annotated[int | None, Query(ge=1)] = None,
    hash: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    deep: bool = False,
):
    """Recompute the whole chain and the content hashes of the entries it vouches for; with a
    digest kept earlier (seq and hash), check it too. `deep=true` also checks that every guard
    the migrations create is in place and that each stored balance and monthly movement is the
    sum of its postings (a scan of the postings)."""
    expected = Digest(seq, hash) if seq is not None and hash is not None else None
    return (integrity.deep_verify if deep else audit_log.verify)(connection, expected)


@router.post("/users", status_code=201, response_model=UserCreated, responses=PROPOSED, tags=["users"])
def create_user(body: UserCreate, request: Request, write: Write, principal: Admin) -> Response:
    """A user of a role that cannot approve (officer, auditor, enterprise) is made at once, its
    token shown this once. One that can (admin, approver) is an admin command: 202, and a second
    admin approves it, then takes its token (`/v1/admin-commands/{id}/approval`, `/token`)."""
    if body.role in users.APPROVING_ROLES:
        return propose(request, write, principal, "user.create", lambda _connection: body.model_dump(mode="json"))

    def work(connection, now):
        user_id, token = users.add_user(
            connection, name=body.name, role=body.role, party_id=body.party_id, now=now, expires_at=body.expires_at
        )
        return Outcome(made_user(connection, user_id, token, pages=body.pages, now=now), f"user:{user_id}", 201,
                       keep_answer=False)  # fmt: skip

    return perform(request, write, principal, "user.create", work)


@router.get("/users", response_model=list[UserPublic], tags=["users"])
def list_users(connection: ReadDep, principal: Admin) -> list[dict]:
    return users.list_users(connection)


@router.post("/users/{user_id}/revoke", status_code=204, tags=["users"])
def revoke_user(user_id: IdPath, request: Request, write: Write, principal: Admin) -> Response:
    """The user's token stops working and every session of theirs on the pages ends."""

    def work(connection, now):
        users.revoke_user(connection, user_id, now=now)
        people.end_sessions(connection, user_id, now=now)
        return Outcome(None, f"user:{user_id}", 204)

    answer = perform(request, write, principal, "user.revoke", work)
    request.app.state.known_tokens.forget_all()  # after the commit: a read before it saw the token valid
    return answer
