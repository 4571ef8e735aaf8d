"""What every route depends on: the database, the clock, the caller and its role.

Access rules live here and nowhere else: `Caller` checks a role, and `Scope` says what a
principal bound to a party may see (its own books and the accounts that carry its party).
"""

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from api.writes import refuse_unkeyed_create
from ledger.errors import LedgerError, Rejection
from store import users
from store.engine import Database
from store.users import Principal

BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")  # Thailand keeps no daylight saving
ALL_ROLES = frozenset(users.ROLES)
READERS = ALL_ROLES
JOURNAL_WRITERS = frozenset({"admin", "officer", "enterprise"})
REGISTRARS = frozenset({"admin", "officer"})
AUDIT_READERS = frozenset({"admin", "auditor"})
ADMINS = frozenset({"admin"})
LOAN_OFFICERS = frozenset({"admin", "officer"})
APPROVERS = frozenset({"admin", "approver"})
STAFF = ALL_ROLES - {"enterprise"}  # fund-wide reports: no party-bound token


class Clock:
    """The server's clock; tests replace it with a fixed one."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        """The business date in Thailand."""
        return self.now().astimezone(BANGKOK).date()


class KnownTokens:
    """The holders of the tokens presented lately, so that a request learns who calls without a
    read transaction of its own (one in four of a posting's statements, and their round trips).

    Tokens are revoked only through the API, whose revoke forgets every holder known at once, and
    a holder is trusted for `seconds` at most, so that a change made by another process (a
    restore, a second server on the same database) takes effect within that time too. Expiry is
    checked at every request. Unknown and revoked tokens are never kept: a new token works at once.
    """

    MAX_KEPT = 10_000  # far more than the users of one fund; beyond it, start again

    def __init__(self, seconds: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._seconds, self._monotonic = seconds, monotonic
        self._known: dict[str, tuple[users.TokenHolder, float]] = {}
        self._forgotten = 0  # how many times all were forgotten: a read begun before one is not kept

    def principal(self, db: Database, token: str, *, now: datetime) -> Principal | None:
        presented = users.token_hash(token)
        holder, trusted_until = self._known.get(presented, (None, 0.0))
        if holder is None or trusted_until <= self._monotonic():
            holder = self._read(db, presented)
        return holder.principal if holder is not None and holder.valid_at(now) else None

    def forget_all(self) -> None:
        self._forgotten += 1
        self._known.clear()

    def _read(self, db: Database, presented: str) -> users.TokenHolder | None:
        forgotten = self._forgotten
        with db.read() as connection:
            holder = users.token_holder(connection, presented)
        if holder is not None and forgotten == self._forgotten:
            if len(self._known) >= self.MAX_KEPT:
                self._known.clear()
            self._known[presented] = (holder, self._monotonic() + self._seconds)
        return holder


# The dependencies are `async def`: FastAPI runs them on the event loop instead of sending each
# through the thread pool, a hand-over that costs more than what most of them do. The two that
# touch the database open the route's read transaction and, for a token not known lately, read
# it by its indexed hash, so the loop is held for well under a millisecond.
async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


DbDep = Annotated[Database, Depends(get_db)]
ClockDep = Annotated[Clock, Depends(get_clock)]


async def read_connection(db: DbDep) -> AsyncIterator[Connection]:
    with db.read() as connection:
        yield connection


ReadDep = Annotated[Connection, Depends(read_connection)]


async def authenticate(request: Request) -> Principal:
    """The caller, from the tokens known lately or else from the database."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    principal = None
    if scheme.lower() == "bearer" and 0 < len(token) <= 200:
        state = request.app.state
        principal = state.known_tokens.principal(state.db, token.strip(), now=state.clock.now())
    if principal is None:
        raise LedgerError(Rejection.unauthenticated, "a valid bearer token is required")
    request.state.principal = principal
    return principal


def role(allowed: frozenset[str]) -> Callable[..., Principal]:
    # One dependency, not three (the caller, the database, the clock): FastAPI's resolving of
    # each costs about as much as what authentication itself does for a known token.
    async def check(request: Request) -> Principal:
        principal = check_role(await authenticate(request), allowed)
        request.state.role_allowed = True
        refuse_unkeyed_create(request)
        return principal

    return check


class RoleRefusal(LedgerError):
    """403 forbidden: the caller's role may not do this; `allowed_roles` may (the problem+json
    answer names them in its detail and in its `allowed_roles` field)."""

    def __init__(self, role: str, allowed: frozenset[str], what: str = "do this") -> None:
        self.allowed_roles = [name for name in users.ROLES if name in allowed]
        super().__init__(Rejection.forbidden, f"role {role} may not {what}; only {', '.join(self.allowed_roles)} may")


def check_role(principal: Principal, allowed: frozenset[str]) -> Principal:
    """The principal, if its role is one of `allowed` (the pages ask it of a session's principal)."""
    if principal.role not in allowed:
        raise RoleRefusal(principal.role, allowed)
    return principal


Reader = Annotated[Principal, Depends(role(READERS))]
JournalWriter = Annotated[Principal, Depends(role(JOURNAL_WRITERS))]
Registrar = Annotated[Principal, Depends(role(REGISTRARS))]
AuditReader = Annotated[Principal, Depends(role(AUDIT_READERS))]
Admin = Annotated[Principal, Depends(role(ADMINS))]
LoanOfficer = Annotated[Principal, Depends(role(LOAN_OFFICERS))]
Approver = Annotated[Principal, Depends(role(APPROVERS))]
Staff = Annotated[Principal, Depends(role(STAFF))]
