"""What every route depends on: the database, the clock, the caller and its role.

Access rules live here and nowhere else: `Caller` checks a role, and `Scope` says what a
principal bound to a party may see (its own books and the accounts that carry its party).
"""

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

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


# The dependencies are `async def`: FastAPI runs them on the event loop instead of sending each
# through the thread pool, a hand-over that costs more than what most of them do. The two that
# touch the database do one short indexed read each (the token, then the route's own queries run
# in the thread pool), so the loop is held for well under a millisecond.
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


async def authenticate(request: Request, connection: ReadDep, clock: ClockDep) -> Principal:
    """The caller, read in the request's one read transaction, which the route shares."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    principal = None
    if scheme.lower() == "bearer" and 0 < len(token) <= 200:
        principal = users.authenticate(connection, token.strip(), now=clock.now())
    if principal is None:
        raise LedgerError(Rejection.unauthenticated, "a valid bearer token is required")
    request.state.principal = principal
    return principal


def role(allowed: frozenset[str]) -> Callable[..., Principal]:
    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise LedgerError(Rejection.forbidden, f"role {principal.role} may not do this")
        return principal

    return check


Reader = Annotated[Principal, Depends(role(READERS))]
JournalWriter = Annotated[Principal, Depends(role(JOURNAL_WRITERS))]
Registrar = Annotated[Principal, Depends(role(REGISTRARS))]
AuditReader = Annotated[Principal, Depends(role(AUDIT_READERS))]
Admin = Annotated[Principal, Depends(role(ADMINS))]
LoanOfficer = Annotated[Principal, Depends(role(LOAN_OFFICERS))]
Approver = Annotated[Principal, Depends(role(APPROVERS))]
Staff = Annotated[Principal, Depends(role(STAFF))]
