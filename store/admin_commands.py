"""Admin commands: changes that one admin proposes (the maker) and a second admin approves or
rejects (the checker), so that no one person both grants a power and uses it, as Fineract's
maker-checker covers user and configuration commands. Four eyes on loans and investments rest
on who may approve and on when approval is needed; so these are commands:

    user.create           a user of an approving role (admin, approver); other roles are made at once
    investment.settings   a fund book's investment approval threshold
    welfare.settings      a welfare fund's administration cap (and its members' daily rate)

A proposal is tried at once, in a savepoint that is then undone, so that one which could not be
carried out is refused now, with the reason its execution would give. Approval carries it out
in the approval's own transaction; if things changed meanwhile and it can no longer be, the
approval is refused and the command stays pending (to be rejected or withdrawn).

A user made by a command gets no usable token: the checker takes one, once, after approving
(`take_token`), and it is minted then, so no token is ever stored in clear, in the payload, the
audit log or anywhere. The checker, not the maker, takes it: the maker chose who the user is,
and would otherwise also hold the user's credential, which a checker who approves without
looking would hand them; this way neither admin alone both names the user and holds its token.
"""

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ledger.errors import LedgerError, Rejection
from store import books, equity, users, welfare
from store.tables import AdminCommand

command_t = AdminCommand.__table__
Row = dict[str, Any]
Payload = dict[str, Any]


# Each kind's carrying out, which answers what it made or changed (`user:7`): the command's target.
def _create_user(connection: Connection, payload: Payload, maker_id: int, now: datetime) -> str:
    expires_at = payload["expires_at"] and datetime.fromisoformat(payload["expires_at"])
    # The token made here is known to no one (it is not kept): the checker takes a new one.
    user_id, _ = users.add_user(connection, name=payload["name"], role=payload["role"],
                                party_id=payload["party_id"], now=now, expires_at=expires_at)  # fmt: skip
    return f"user:{user_id}"


def _set_threshold(connection: Connection, payload: Payload, maker_id: int, now: datetime) -> str:
    book_id = payload["book_id"]
    equity.set_approval_threshold(connection, book_id, payload["approval_threshold_satang"], user_id=maker_id, now=now)
    return f"book:{book_id}:investment-settings"


def _set_fund_settings(connection: Connection, payload: Payload, maker_id: int, now: datetime) -> str:
    party_id = payload["party_id"]
    welfare.set_fund_settings(
        connection, party_id, admin_cap_percent=Decimal(payload["admin_cap_percent"]),
        member_daily_satang=payload["member_daily_satang"], user_id=maker_id, now=now,
    )  # fmt: skip
    return f"welfare-fund:{party_id}:settings"


CARRY_OUT: dict[str, Callable[[Connection, Payload, int, datetime], str]] = {
    "user.create": _create_user,
    "investment.settings": _set_threshold,
    "welfare.settings": _set_fund_settings,
}


def propose(connection: Connection, kind: str, payload: Payload, *, maker_id: int, now: datetime) -> Row:
    """Record a pending command, once it is shown that it could be carried out now."""
    with connection.begin_nested() as trial:
        CARRY_OUT[kind](connection, payload, maker_id, now)
        trial.rollback()
    values = {"kind": kind, "payload": json.dumps(payload, sort_keys=True, ensure_ascii=False), "maker_id": maker_id,
              "made_at": now, "status": "pending"}  # fmt: skip
    return get_command(connection, connection.execute(insert(command_t).values(**values)).inserted_primary_key[0])


def approve(connection: Connection, command_id: int, *, checker_id: int, now: datetime) -> Row:
    """A second admin approves: the command is carried out, in this transaction."""
    command = _pending(connection, command_id, checker_id)
    target = CARRY_OUT[command["kind"]](connection, command["payload"], command["maker_id"], now)
    return _decide(connection, command_id, status="approved", checker_id=checker_id, now=now, target=target)


def reject(connection: Connection, command_id: int, *, checker_id: int, now: datetime) -> Row:
    _pending(connection, command_id, checker_id)
    return _decide(connection, command_id, status="rejected", checker_id=checker_id, now=now)


def withdraw(connection: Connection, command_id: int, *, maker_id: int, now: datetime) -> Row:
    """The maker takes a pending command back."""
    command = _pending(connection, command_id)
    if command["maker_id"] != maker_id:
        raise LedgerError(Rejection.forbidden, f"only the admin who made command {command_id} may withdraw it")
    return _decide(connection, command_id, status="withdrawn", checker_id=None, now=now)


def take_token(connection: Connection, command_id: int, *, checker_id: int, now: datetime) -> tuple[Row, str]:
    """The checker of an approved user creation takes the new user's token, once."""
    command = get_command(connection, command_id, lock=True)
    if command["checker_id"] != checker_id:
        raise LedgerError(Rejection.forbidden, f"only the admin who checked command {command_id} takes its token")
    if command["kind"] != "user.create" or command["status"] != "approved" or command["token_taken_at"]:
        raise LedgerError(Rejection.token_not_available, (
            f"command {command_id} ({command['kind']}, {command['status']}) has no token to take"
            + (": it was taken" if command["token_taken_at"] else "")))  # fmt: skip
    connection.execute(update(command_t).where(command_t.c.id == command_id).values(token_taken_at=now))
    user_id = int(command["target"].removeprefix("user:"))
    return {**command, "token_taken_at": now, "user_id": user_id}, users.issue_token(connection, user_id)


def _pending(connection: Connection, command_id: int, checker_id: int | None = None) -> Row:
    command = get_command(connection, command_id, lock=True)
    if command["status"] != "pending":
        raise LedgerError(Rejection.command_not_pending, f"command {command_id} is {command['status']}, not pending")
    if command["maker_id"] == checker_id:
        raise LedgerError(Rejection.same_user_approval, "a command is checked by an admin other than who made it")
    return command


def _decide(connection: Connection, command_id: int, *, status: str, checker_id: int | None, now: datetime,
            target: str | None = None) -> Row:  # fmt: skip
    decided = {"status": status, "checker_id": checker_id, "checked_at": now, "target": target}
    connection.execute(update(command_t).where(command_t.c.id == command_id).values(**decided))
    return get_command(connection, command_id)


def get_command(connection: Connection, command_id: int, *, lock: bool = False) -> Row:
    query = select(command_t).where(command_t.c.id == command_id)
    row = connection.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise books.not_found("admin command", command_id)
    return {**row, "payload": json.loads(row["payload"])}


def list_commands(connection: Connection, *, status: str | None, after: int, limit: int) -> list[Row]:
    query = select(command_t).where(command_t.c.id > after).order_by(command_t.c.id).limit(limit)
    if status is not None:
        query = query.where(command_t.c.status == status)
    return [{**row, "payload": json.loads(row["payload"])} for row in connection.execute(query).mappings()]
