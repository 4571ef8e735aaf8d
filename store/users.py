"""Users and their bearer tokens. A token is shown once, when made; only its SHA-256 is kept
(tokens are 256 random bits, so a plain hash is enough to make a stolen table useless)."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.errors import LedgerError, Rejection
from store.books import get_party, not_found
from store.tables import AppUser

user_t = AppUser.__table__
ROLES = ("admin", "officer", "approver", "auditor", "enterprise")


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
    if role not in ROLES:
        raise LedgerError(Rejection.invalid_request, f"role must be one of {', '.join(ROLES)}")
    if (role == "enterprise") != (party_id is not None):
        raise LedgerError(Rejection.invalid_request, "an enterprise user is bound to one party; others to none")
    if expires_at is not None and expires_at <= now:
        raise LedgerError(Rejection.invalid_request, "expires_at must be in the future")
    if party_id is not None:
        get_party(connection, party_id)
    token = "codi_" + secrets.token_urlsafe(32)
    values = dict(name=name, role=role, party_id=party_id, token_hash=token_hash(token),
                  created_at=now, expires_at=expires_at)  # fmt: skip
    try:
        with connection.begin_nested():
            user_id = connection.execute(insert(user_t).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        raise LedgerError(Rejection.duplicate, f"a user named {name!r} exists") from None
    return user_id, token


_USER_BY_TOKEN_HASH = select(user_t).where(user_t.c.token_hash == bindparam("token_hash"))


@dataclass(frozen=True)
class TokenHolder:
    """Who a token speaks for, and until when."""

    principal: Principal
    expires_at: datetime | None

    def valid_at(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


def token_holder(connection: Connection, presented_hash: str) -> TokenHolder | None:
    """The holder of the token with this hash, or None if no user has it or it was revoked."""
    row = connection.execute(_USER_BY_TOKEN_HASH, {"token_hash": presented_hash}).mappings().first()
    if row is None or not hmac.compare_digest(row["token_hash"], presented_hash) or row["revoked_at"] is not None:
        return None
    return TokenHolder(Principal(row["id"], row["name"], row["role"], row["party_id"]), row["expires_at"])


def list_users(connection: Connection) -> list[dict]:
    columns = [c for c in user_t.c if c.name != "token_hash"]
    return [dict(r) for r in connection.execute(select(*columns).order_by(user_t.c.id)).mappings()]


def revoke_user(connection: Connection, user_id: int, *, now: datetime) -> None:
    result = connection.execute(
        update(user_t).where(user_t.c.id == user_id, user_t.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    if result.rowcount == 0 and connection.execute(select(user_t.c.id).where(user_t.c.id == user_id)).first() is None:
        raise not_found("user", user_id)


SYSTEM_USER = "cli"


def system_principal(connection: Connection, *, now: datetime) -> Principal:
    """The principal the command line acts as: an admin that no token can ever match."""
    row = connection.execute(select(user_t).where(user_t.c.name == SYSTEM_USER)).mappings().first()
    if row is None:
        unmatchable = secrets.token_hex(32)  # a hash no token hashes to, as far as anyone can find
        values = dict(name=SYSTEM_USER, role="admin", party_id=None, token_hash=unmatchable, created_at=now)
        user_id = connection.execute(insert(user_t).values(**values)).inserted_primary_key[0]
        return Principal(user_id, SYSTEM_USER, "admin", None)
    return Principal(row["id"], row["name"], row["role"], row["party_id"])
