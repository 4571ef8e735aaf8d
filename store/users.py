"""Users and their bearer tokens. A token is shown once, when made; only its SHA-256 is kept
(tokens are 256 random bits, so a plain hash is enough to make a stolen table useless)."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ledger.errors import LedgerError, Rejection
from ledger.text import user_name
from store.books import get_party, not_found
from store.tables import AppUser

user_t = AppUser.__table__
ROLES = ("admin", "officer", "approver", "auditor", "enterprise")
# Roles that approve what others record, or change the rules of approval: a user of one of them
# is made through an admin command that a second admin approves (store.admin_commands).
APPROVING_ROLES = ("admin", "approver")


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    role: str
    party_id: int | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    connection: Connection,
    *,
    name: str,
    role: str,
    party_id: int | None,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[int, str]:
    """Create a user; returns its id and its token, which is never stored or shown again."""
    try:
        name = user_name(name)
    except ValueError as error:
        raise LedgerError(Rejection.invalid_request, str(error)) from None
    if role not in ROLES:
        raise LedgerError(Rejection.invalid_request, f"role must be one of {', '.join(ROLES)}")
    if (role == "enterprise") != (party_id is not None):
        raise LedgerError(Rejection.invalid_request, "an enterprise user is bound to one party; others to none")
    if expires_at is not None and expires_at <= now:
        raise LedgerError(Rejection.invalid_request, "expires_at must be in the future")
    if party_id is not None:
        get_party(connection, party_id)
    token = new_token()
    values = dict(name=name, role=role, party_id=party_id, token_hash=token_hash(token),
                  created_at=now, expires_at=expires_at)  # fmt: skip
    try:
        with connection.begin_nested():
            user_id = connection.execute(insert(user_t).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        raise LedgerError(Rejection.duplicate, f"a user named {name!r} exists") from None
    return user_id, token


def new_token() -> str:
    return "codi_" + secrets.token_urlsafe(32)


def issue_token(connection: Connection, user_id: int) -> str:
    """Give a user a new token (the one it had stops working); returns it, never stored or shown again."""
    token = new_token()
    connection.execute(
        update(user_t).where(user_t.c.id == user_id).values(token_hash=token_hash(token), token_revoked_at=None)
    )
    return token


_USER_BY_TOKEN_HASH = select(user_t).where(user_t.c.token_hash == bindparam("token_hash"))


@dataclass(frozen=True)
class TokenHolder:
    """Who a token speaks for, and until when."""

    principal: Principal
    expires_at: datetime | None

    def valid_at(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


def token_holder(connection: Connection, presented_hash: str) -> TokenHolder | None:
    """The holder of the token with this hash, or None if no user has it, or it or its user was revoked."""
    row = connection.execute(_USER_BY_TOKEN_HASH, {"token_hash": presented_hash}).mappings().first()
    if row is None or not hmac.compare_digest(row["token_hash"], presented_hash):
        return None
    if row["revoked_at"] is not None or row["token_revoked_at"] is not None:
        return None
    return TokenHolder(Principal(row["id"], row["name"], row["role"], row["party_id"]), row["expires_at"])


_SHOWN = [c for c in user_t.c if c.name != "token_hash"]


def list_users(connection: Connection) -> list[dict]:
    return [dict(r) for r in connection.execute(select(*_SHOWN).order_by(user_t.c.id)).mappings()]


def get_user(connection: Connection, user_id: int) -> dict:
    row = connection.execute(select(*_SHOWN).where(user_t.c.id == user_id)).mappings().first()
    if row is None:
        raise not_found("user", user_id)
    return dict(row)


def revoke_user(connection: Connection, user_id: int, *, now: datetime) -> None:
    """The user is revoked: its token stops working (the caller ends its page sessions)."""
    result = connection.execute(
        update(user_t).where(user_t.c.id == user_id, user_t.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    if result.rowcount == 0 and connection.execute(select(user_t.c.id).where(user_t.c.id == user_id)).first() is None:
        raise not_found("user", user_id)


def user_state(user: dict, *, now: datetime) -> str:
    """Whether a user (a row of `list_users`) still works: active, revoked or expired."""
    if user["revoked_at"] is not None:
        return f"revoked {user['revoked_at']:%Y-%m-%d %H:%M} UTC"
    if user["expires_at"] is not None and user["expires_at"] <= now:
        return f"expired {user['expires_at']:%Y-%m-%d %H:%M} UTC"
    return "active"


def token_state(user: dict, *, now: datetime) -> str:
    """Whether a user's token works: as its user, unless the token alone was revoked."""
    if user["revoked_at"] is None and user["token_revoked_at"] is not None:
        return f"revoked {user['token_revoked_at']:%Y-%m-%d %H:%M} UTC"
    return user_state(user, now=now)


def revoke_token(connection: Connection, user_id: int, *, now: datetime) -> None:
    """The user's token stops working; the user does not (a person still signs in to the pages)."""
    result = connection.execute(
        update(user_t).where(user_t.c.id == user_id, user_t.c.token_revoked_at.is_(None)).values(token_revoked_at=now)
    )
    if result.rowcount == 0:
        get_user(connection, user_id)


def find_user(connection: Connection, name_or_id: str) -> dict:
    """The user of this name, or else of this id (as the command line names one)."""
    row = connection.execute(select(*_SHOWN).where(user_t.c.name == user_name_or_none(name_or_id))).mappings().first()
    if row is not None:
        return dict(row)
    if name_or_id.isascii() and name_or_id.isdigit():
        return get_user(connection, int(name_or_id))
    raise not_found("user", name_or_id)


def user_name_or_none(text: str) -> str | None:
    try:
        return user_name(text)
    except ValueError:
        return None


SYSTEM_USER = "cli"
# The command line may seat approving users until the fund has this many admins, who can then
# check each other; after that, approving users are made through the API's admin commands.
ADMINS_SEATED_BY_COMMAND_LINE = 2


def may_seat_from_command_line(connection: Connection, role: str, *, now: datetime) -> None:
    """Refuse, once two active admins are there, to make a user of an approving role from the
    command line, where no second admin checks (the system user `cli` is no person: not counted)."""
    if role not in APPROVING_ROLES:
        return
    active = connection.execute(select(func.count()).select_from(user_t).where(
        user_t.c.role == "admin", user_t.c.name != SYSTEM_USER, user_t.c.revoked_at.is_(None),
        or_(user_t.c.expires_at.is_(None), user_t.c.expires_at > now),
    )).scalar_one()  # fmt: skip
    if active >= ADMINS_SEATED_BY_COMMAND_LINE:
        raise LedgerError(Rejection.maker_checker_required, (
            f"{active} admins are active: a new {role} is proposed through the API (POST /v1/users) "
            "and approved by a second admin (POST /v1/admin-commands/{id}/approval)"))  # fmt: skip


def system_principal(connection: Connection, *, now: datetime) -> Principal:
    """The principal the command line acts as: an admin that no token can ever match."""
    row = connection.execute(select(user_t).where(user_t.c.name == SYSTEM_USER)).mappings().first()
    if row is None:
        unmatchable = secrets.token_hex(32)  # a hash no token hashes to, as far as anyone can find
        values = dict(name=SYSTEM_USER, role="admin", party_id=None, token_hash=unmatchable, created_at=now)
        user_id = connection.execute(insert(user_t).values(**values)).inserted_primary_key[0]
        return Principal(user_id, SYSTEM_USER, "admin", None)
    return Principal(row["id"], row["name"], row["role"], row["party_id"])
