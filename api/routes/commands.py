"""Admin commands through the API: what one admin proposes (a user who can approve, an
investment approval threshold, a welfare fund's administration cap) waits, answered 202, until a
second admin approves or rejects it (`store.admin_commands`). The maker may withdraw it; the
maker checking it is refused (403 `same_user_approval`). Admins and auditors read them; the
audit trail names the maker and the checker of each."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from api.context import Admin, AuditReader, ReadDep
from api.pages import PageDep, next_cursor
from api.schemas import AdminCommandPublic, IdPath, Page, UserCreated
from api.writes import Outcome, Write, WriteRequest, perform
from store import admin_commands, people, users
from store.users import Principal

router = APIRouter(prefix="/v1", tags=["admin commands"])
PROPOSED = {202: {"model": AdminCommandPublic, "description": "Proposed: waits for a second admin's approval"}}


def command_body(row: dict) -> AdminCommandPublic:
    return AdminCommandPublic(**row, href=f"/v1/admin-commands/{row['id']}")


def _about(row: dict) -> str:
    """The audit record's target: the command, its maker, its checker, what its approval made."""
    checker = f" checker=user:{row['checker_id']}" if row["checker_id"] else ""
    made = f" -> {row['target']}" if row["target"] else ""
    return f"admin-command:{row['id']} maker=user:{row['maker_id']}{checker}{made}"


def propose(
    request: Request, write: WriteRequest, principal: Principal, kind: str,
    payload_of: Callable[[Connection], dict[str, Any]],
) -> Response:  # fmt: skip
    """Record the command that `payload_of` describes (it may read what it needs, a book's id),
    made by `principal`: 202 with the pending command."""

    def work(connection, now):
        row = admin_commands.propose(connection, kind, payload_of(connection), maker_id=principal.user_id, now=now)
        return Outcome(command_body(row), _about(row), 202)

    return perform(request, write, principal, f"{kind}.propose", work)


@router.get("/admin-commands", response_model=Page[AdminCommandPublic])
def list_commands(
    connection: ReadDep, principal: AuditReader, page: PageDep,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected|withdrawn)$")] = None,
) -> dict:  # fmt: skip
    rows = admin_commands.list_commands(connection, status=status, after=page.after, limit=page.limit)
    return {"data": [command_body(r) for r in rows], "next_cursor": next_cursor(rows, page)}


@router.get("/admin-commands/{command_id}", response_model=AdminCommandPublic)
def get_command(command_id: IdPath, connection: ReadDep, principal: AuditReader) -> AdminCommandPublic:
    return command_body(admin_commands.get_command(connection, command_id))


def _decide(request: Request, write: WriteRequest, principal: Principal, action: str,
            decide: Callable[[Connection, datetime], dict]) -> Response:  # fmt: skip
    def work(connection, now):
        row = decide(connection, now)
        return Outcome(command_body(row), _about(row))

    return perform(request, write, principal, action, work)


@router.post("/admin-commands/{command_id}/approval", response_model=AdminCommandPublic)
def approve(command_id: IdPath, request: Request, write: Write, principal: Admin) -> Response:
    """A second admin approves: the command is carried out at once, in the same transaction."""
    return _decide(request, write, principal, "admin-command.approve", lambda connection, now: admin_commands.approve(
        connection, command_id, checker_id=principal.user_id, now=now))  # fmt: skip


@router.post("/admin-commands/{command_id}/rejection", response_model=AdminCommandPublic)
def reject(command_id: IdPath, request: Request, write: Write, principal: Admin) -> Response:
    """A second admin turns the command down: nothing of it is carried out."""
    return _decide(request, write, principal, "admin-command.reject", lambda connection, now: admin_commands.reject(
        connection, command_id, checker_id=principal.user_id, now=now))  # fmt: skip


@router.post("/admin-commands/{command_id}/withdrawal", response_model=AdminCommandPublic)
def withdraw(command_id: IdPath, request: Request, write: Write, principal: Admin) -> Response:
    """Its maker takes a pending command back."""
    return _decide(request, write, principal, "admin-command.withdraw", lambda connection, now: admin_commands.withdraw(
        connection, command_id, maker_id=principal.user_id, now=now))  # fmt: skip


@router.post("/admin-commands/{command_id}/token", status_code=201, response_model=UserCreated)
def take_token(command_id: IdPath, request: Request, write: Write, principal: Admin) -> Response:
    """The admin who approved a new user takes its token, once (409 `token_not_available` after):
    it is made now and only its hash is kept. The maker never sees it (`store.admin_commands`)."""

    return perform(request, write, principal, "admin-command.token", token_work(command_id, principal))


def token_work(command_id: int, principal: Principal):
    """The taking of a new user's token (and, for a person, a setup code) as a write's work, for
    this route and the admin's page alike."""

    def work(connection, now):
        row, token = admin_commands.take_token(connection, command_id, checker_id=principal.user_id, now=now)
        made = made_user(connection, row["user_id"], token, pages=row["payload"].get("pages", True), now=now)
        return Outcome(made, _about(row), 201, keep_answer=False)

    return work


def made_user(connection: Connection, user_id: int, token: str, *, pages: bool, now: datetime) -> UserCreated:
    """A new user as its maker sees it once: its token, and for a person a one-time setup code
    to choose a password with (as `codi-ledger user add` prints them)."""
    code = people.issue_setup_code(connection, user_id, now=now) if pages else None
    return UserCreated(**users.get_user(connection, user_id), token=token, setup_code=code)
