"""People who sign in to the pages: passwords, one-time setup codes and sessions.

Machines keep their bearer tokens (store.users); a person signs in with a user name and a
password instead, and gets the same `Principal` (role and party binding) as that user's token.

- A password is chosen by the person on a one-time setup code that an admin issues
  (`issue_setup_code`); the code is kept as its SHA-256, works once, and expires.
- A password is kept as an argon2id hash. A wrong user name costs the same argon2 work as a
  wrong password (`check_password` verifies against a stand-in hash), so the time of an answer
  does not tell whether the name exists.
- A session is a random id in a cookie, kept here as its SHA-256. It ends at sign-out, when the
  password changes (the person's other sessions), after `SessionTimes.idle` without a request,
  or `SessionTimes.lifetime` after sign-in, whichever comes first. `last_seen_at` is written at
  most once a `TOUCH_EVERY`, so reading a page is not a write each time; the idle time is thus
  counted from a moment up to that much earlier than the last request.
"""

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, exists, insert, select, update

from ledger.errors import LedgerError, Rejection
from store.tables import SetupCode, UserPassword, WebSession
from store.users import Principal, token_hash, user_t

password_t = UserPassword.__table__
code_t = SetupCode.__table__
session_t = WebSession.__table__

SETUP_CODE_VALID = timedelta(hours=72)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
TOUCH_EVERY = timedelta(minutes=1)
LANGUAGES = ("th", "en")
HASHER = PasswordHasher()  # argon2id with the library's defaults (RFC 9106's second choice)


@dataclass(frozen=True)
class SessionTimes:
    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class SignedIn:
    """A live session: who it speaks for, its language, and whether it is due a touch."""

    principal: Principal
    id_hash: str
    language: str | None
    last_seen_at: datetime


def _principal(row) -> Principal:
    return Principal(row["id"], row["name"], row["role"], row["party_id"])


# --- setup codes and passwords -------------------------------------------------------------------


def issue_setup_code(connection: Connection, user_id: int, *, now: datetime,
                     valid_for: timedelta = SETUP_CODE_VALID) -> str:  # fmt: skip
    """A new one-time code for the user to choose a password with; shown once, kept hashed."""
    code = secrets.token_urlsafe(24)
    connection.execute(insert(code_t).values(user_id=user_id, code_hash=token_hash(code), created_at=now,
                                             expires_at=now + valid_for))  # fmt: skip
    return code


def check_new_password(password: str, *, name: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise LedgerError(Rejection.weak_password,
                          f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")  # fmt: skip
    if password.strip().casefold() == name.casefold():
        raise LedgerError(Rejection.weak_password, "a password is not the user name")


def setup_code_user(connection: Connection, code: str, *, now: datetime) -> Principal:
    """The user a code was issued to, if it is unused and unexpired (else `setup_code_invalid`)."""
    query = (
        select(user_t).join(code_t, code_t.c.user_id == user_t.c.id)
        .where(code_t.c.code_hash == token_hash(code), code_t.c.used_at.is_(None), code_t.c.expires_at > now,
               user_t.c.revoked_at.is_(None))
    )  # fmt: skip
    row = connection.execute(query).mappings().first() if 0 < len(code) <= 100 else None
    if row is None:
        raise LedgerError(Rejection.setup_code_invalid, "this setup code is unknown, used or expired")
    return _principal(row)


def use_setup_code(connection: Connection, code: str, password: str, *, now: datetime) -> Principal:
    """Set the password of the code's user and spend the code (once: a second use is refused,
    even by a request racing this one). The user's sessions end."""
    principal = setup_code_user(connection, code, now=now)
    check_new_password(password, name=principal.name)
    spent = connection.execute(
        update(code_t).where(code_t.c.code_hash == token_hash(code), code_t.c.used_at.is_(None)).values(used_at=now)
    )
    if spent.rowcount != 1:
        raise LedgerError(Rejection.setup_code_invalid, "this setup code is unknown, used or expired")
    _store_password(connection, principal.user_id, password, now)
    end_sessions(connection, principal.user_id, now=now)
    return principal


def change_password(connection: Connection, principal: Principal, *, current: str, new: str, keep_session: str,
                    now: datetime) -> None:  # fmt: skip
    """Change a signed-in person's password; every other session of theirs ends."""
    if check_password(connection, principal.name, current) != principal:
        raise LedgerError(Rejection.wrong_password, "the current password is not right")
    check_new_password(new, name=principal.name)
    _store_password(connection, principal.user_id, new, now)
    end_sessions(connection, principal.user_id, now=now, keep=token_hash(keep_session))


def _store_password(connection: Connection, user_id: int, password: str, now: datetime) -> None:
    connection.execute(delete(password_t).where(password_t.c.user_id == user_id))
    connection.execute(insert(password_t).values(user_id=user_id, password_hash=HASHER.hash(password), set_at=now))


@cache
def _stand_in_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def check_password(connection: Connection, name: str, password: str) -> Principal | None:
    """The user with this name and password, or None; the same argon2 work either way."""
    query = (
        select(user_t, password_t.c.password_hash).join(password_t, password_t.c.user_id == user_t.c.id)
        .where(user_t.c.name == unicodedata.normalize("NFC", name[:100]), user_t.c.revoked_at.is_(None))
    )  # fmt: skip
    row = connection.execute(query).mappings().first()
    try:
        HASHER.verify(row["password_hash"] if row else _stand_in_hash(), password[:MAX_PASSWORD_LENGTH])
    except (VerificationError, InvalidHashError):
        return None
    return _principal(row) if row else None


# --- sessions ---------------------------------------------------------------------------------


def open_session(connection: Connection, user_id: int, *, now: datetime, times: SessionTimes) -> str:
    """A new session; returns the id for the cookie, which is kept here only as its hash."""
    session_id = secrets.token_urlsafe(32)
    connection.execute(insert(session_t).values(user_id=user_id, id_hash=token_hash(session_id), created_at=now,
                                                last_seen_at=now, expires_at=now + times.lifetime))  # fmt: skip
    return session_id


def signed_in(connection: Connection, session_id: str, *, now: datetime, times: SessionTimes) -> SignedIn | None:
    """The live session with this id, or None (unknown, ended, idle too long, past its lifetime,
    or its user revoked)."""
    if not 0 < len(session_id) <= 100:
        return None
    query = (
        select(user_t, session_t.c.id_hash, session_t.c.last_seen_at)
        .join(session_t, session_t.c.user_id == user_t.c.id)
        .where(session_t.c.id_hash == token_hash(session_id), session_t.c.ended_at.is_(None),
               session_t.c.expires_at > now, user_t.c.revoked_at.is_(None))
    )  # fmt: skip
    row = connection.execute(query).mappings().first()
    if row is None or now >= row["last_seen_at"] + times.idle:
        return None
    return SignedIn(_principal(row), row["id_hash"], row["language"], row["last_seen_at"])


def touch(connection: Connection, session: SignedIn, *, now: datetime) -> None:
    connection.execute(update(session_t).where(session_t.c.id_hash == session.id_hash).values(last_seen_at=now))


def end_session(connection: Connection, session_id: str, *, now: datetime) -> None:
    connection.execute(update(session_t).where(session_t.c.id_hash == token_hash(session_id),
                                               session_t.c.ended_at.is_(None)).values(ended_at=now))  # fmt: skip


def end_sessions(connection: Connection, user_id: int, *, now: datetime, keep: str | None = None) -> None:
    """End the user's live sessions, all of them or all but the one whose id hashes to `keep`."""
    query = update(session_t).where(session_t.c.user_id == user_id, session_t.c.ended_at.is_(None))
    if keep is not None:
        query = query.where(session_t.c.id_hash != keep)
    connection.execute(query.values(ended_at=now))


def set_language(connection: Connection, user_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise LedgerError(Rejection.unsupported_language, f"language must be one of {', '.join(LANGUAGES)}")
    connection.execute(update(user_t).where(user_t.c.id == user_id).values(language=language))


# --- the admin's list of people and machines ---------------------------------------------------

MAX_NAME_SEARCH = 100


def list_people(connection: Connection, *, filters: dict, after: int, limit: int) -> list[dict]:
    """A page of users by id, each with `has_password` (a person who signs in to the pages; a
    machine has only its token). `filters` may name a `role`, a part of the `name`, and
    `status`: `active` or `revoked`. No token hash is read."""
    has_password = exists().where(password_t.c.user_id == user_t.c.id).label("has_password")
    shown = [c for c in user_t.c if c.name != "token_hash"]
    query = select(*shown, has_password).where(user_t.c.id > after).order_by(user_t.c.id).limit(limit)
    if filters.get("role"):
        query = query.where(user_t.c.role == filters["role"])
    if filters.get("name"):
        query = query.where(user_t.c.name.icontains(filters["name"][:MAX_NAME_SEARCH], autoescape=True))
    if filters.get("status") == "active":
        query = query.where(user_t.c.revoked_at.is_(None))
    elif filters.get("status") == "revoked":
        query = query.where(user_t.c.revoked_at.is_not(None))
    return [dict(r) for r in connection.execute(query).mappings()]
