"""Who is signed in to the pages, and the dependencies that ask for it.

Every page request first meets `load_session` (a dependency of every page router): it reads the
`codi_session` cookie, finds the live session (store.people.signed_in, on the app's Clock so
tests can move time) and puts it on `request.state.signed_in`, writing the session's
`last_seen_at` when it is due. A page that needs someone signed in asks for `PagePrincipal`:
the same `store.users.Principal` an API token gives, so the API's access rules apply as they
are; without a session it answers 303 to /signin.

Session times are settings (api.settings): `session_idle_minutes` (30) and `session_hours` (12).
"""

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from api.context import JOURNAL_WRITERS
from api.settings import Settings
from ledger.errors import LedgerError, Rejection
from store import people
from store.people import SessionTimes
from store.users import Principal

COOKIE = "codi_session"


def session_times(settings: Settings) -> SessionTimes:
    idle, hours = settings.session_idle_minutes, settings.session_hours
    return SessionTimes(idle=timedelta(minutes=idle), lifetime=timedelta(hours=hours))


class SignInRequired(Exception):
    """A page for signed-in people, asked for without a live session."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def load_session(request: Request) -> None:
    """Find the request's live session, if any (a plain `def`: FastAPI runs it in a thread)."""
    request.state.signed_in, request.state.session_id = None, None
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return
    state = request.app.state
    now, times = state.clock.now(), state.session_times
    with state.db.read() as connection:
        found = people.signed_in(connection, session_id, now=now, times=times)
    if found is None:
        return
    if now - found.last_seen_at >= people.TOUCH_EVERY:
        with state.db.write() as connection:
            people.touch(connection, found, now=now)
    request.state.signed_in, request.state.session_id = found, session_id


async def page_principal(request: Request) -> Principal:
    signed_in = getattr(request.state, "signed_in", None)
    if signed_in is None:
        raise SignInRequired(request.url.path)
    return signed_in.principal


def signin_location(next_path: str) -> str:
    return "/signin" if next_path in ("", "/") else f"/signin?next={quote(next_path)}"


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path of this site only (never `//elsewhere` or a URL)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or len(path) > 300:
        return "/"
    return path


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def page_role(allowed: frozenset[str]):
    """The signed-in person, if their role is one the API allows for the same write (as the
    API's `api.context.role`): any other role gets the page that says it may not (403)."""

    async def check(principal: PagePrincipal) -> Principal:
        if principal.role not in allowed:
            raise LedgerError(Rejection.forbidden, f"role {principal.role} may not do this")
        return principal

    return check


PageJournalWriter = Annotated[Principal, Depends(page_role(JOURNAL_WRITERS))]
