"""Signing in and out, choosing a password (on a setup code, or changing it), and the language.

Sign-in, sign-out and a password set are audited like every write (api.writes.audit_event);
a refused sign-in is not: anyone could fill the chain with them (the throttle counts them).
"""

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse

from api.writes import audit_event
from ledger.errors import LedgerError, Rejection
from store import people
from store.users import Principal
from web.cookies import cookie_options
from web.i18n import LANGUAGE_COOKIE, LANGUAGES, N_, chosen
from web.routes import page_router
from web.session import COOKIE, PagePrincipal, safe_next
from web.templating import render
from web.throttle import client_address

router = page_router()
FormText = Annotated[str, Form(max_length=300)]

# What a refused form says, by reason (the same words for a wrong name and a wrong password).
MESSAGES = {
    "signin": N_("The user name or password is not right."),
    Rejection.setup_code_invalid: N_("This setup link does not work: it was used already or has expired. "
                                     "Ask the fund's administrator for a new one."),  # fmt: skip
    Rejection.weak_password: N_("Choose a password of at least 10 characters that is not your user name."),
    Rejection.wrong_password: N_("Your current password is not right."),
    "mismatch": N_("The two passwords are not the same."),
}


def _open_session(request: Request, principal: Principal, action: str, next_path: str) -> RedirectResponse:
    state = request.app.state
    now = state.clock.now()
    with state.db.write() as connection:
        session_id = people.open_session(connection, principal.user_id, now=now, times=state.session_times)
        remembered = request.cookies.get(LANGUAGE_COOKIE)
        if remembered in LANGUAGES:
            people.set_language(connection, principal.user_id, remembered)
        audit_event(connection, principal=principal, action=action, target=f"user:{principal.user_id}",
                    request=request, now=now)  # fmt: skip
    response = RedirectResponse(safe_next(next_path), 303)
    max_age = int(state.session_times.lifetime.total_seconds())
    response.set_cookie(COOKIE, session_id, **cookie_options(request, max_age=max_age))
    return response


@router.get("/signin")
def signin_form(request: Request, next: str = "/"):
    return render(request, "signin.html", next=safe_next(next), name="", error=None)


@router.post("/signin")
def signin(request: Request, name: FormText = "", password: FormText = "", next: FormText = "/"):
    throttle, address = request.app.state.sign_in_throttle, client_address(request)
    if wait_s := throttle.retry_after_s(name, address):
        return render(request, "signin.html", 429, next=safe_next(next), name=name,
                      error=N_("Too many attempts. Wait a few minutes and try again."), wait_s=wait_s)  # fmt: skip
    with request.app.state.db.read() as connection:
        principal = people.check_password(connection, name, password)
    if principal is None:
        throttle.failed(name, address)
        return render(request, "signin.html", 422, next=safe_next(next), name=name, error=MESSAGES["signin"])
    return _open_session(request, principal, "session.sign-in", next)


@router.post("/signout")
def signout(request: Request, principal: PagePrincipal):
    state = request.app.state
    now = state.clock.now()
    with state.db.write() as connection:
        people.end_session(connection, request.state.session_id, now=now)
        audit_event(connection, principal=principal, action="session.sign-out", target=f"user:{principal.user_id}",
                    request=request, now=now)  # fmt: skip
    response = RedirectResponse("/signin", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/setup")
def setup_form(request: Request, code: str = ""):
    state = request.app.state
    try:
        with state.db.read() as connection:
            person = people.setup_code_user(connection, code, now=state.clock.now())
    except LedgerError as error:
        return render(request, "setup.html", 404, code="", person=None, error=MESSAGES[error.reason])
    return render(request, "setup.html", code=code, person=person, error=None)


@router.post("/setup")
def setup(request: Request, code: FormText = "", password: FormText = "", confirm: FormText = ""):
    state = request.app.state
    now = state.clock.now()
    try:
        if password != confirm:
            with state.db.read() as connection:
                person = people.setup_code_user(connection, code, now=now)
            return render(request, "setup.html", 422, code=code, person=person, error=MESSAGES["mismatch"])
        with state.db.write() as connection:
            person = people.use_setup_code(connection, code, password, now=now)
            audit_event(connection, principal=person, action="user.password-set", target=f"user:{person.user_id}",
                        request=request, now=now)  # fmt: skip
    except LedgerError as error:
        status = 404 if error.reason is Rejection.setup_code_invalid else 422
        with state.db.read() as connection:
            person = None if status == 404 else people.setup_code_user(connection, code, now=now)
        return render(request, "setup.html", status, code=code if person else "", person=person,
                      error=MESSAGES[error.reason])  # fmt: skip
    return _open_session(request, person, "session.sign-in", "/")


@router.get("/password")
def password_form(request: Request, principal: PagePrincipal):
    return render(request, "password.html", error=None, done=False)


@router.post("/password")
def change_password(request: Request, principal: PagePrincipal, current: FormText = "", password: FormText = "",
                    confirm: FormText = ""):  # fmt: skip
    if password != confirm:
        return render(request, "password.html", 422, error=MESSAGES["mismatch"], done=False)
    state = request.app.state
    now = state.clock.now()
    try:
        with state.db.write() as connection:
            people.change_password(connection, principal, current=current, new=password,
                                   keep_session=request.state.session_id, now=now)  # fmt: skip
            audit_event(connection, principal=principal, action="user.password-set",
                        target=f"user:{principal.user_id}", request=request, now=now)  # fmt: skip
    except LedgerError as error:
        return render(request, "password.html", 422, error=MESSAGES[error.reason], done=False)
    return render(request, "password.html", error=None, done=True)


@router.post("/language")
def set_language(request: Request, language: FormText = "th", next: FormText = "/"):
    """Thai or English: kept on the user record when signed in, and in a cookie for before."""
    language = chosen(language)
    signed_in = request.state.signed_in
    if signed_in is not None:
        with request.app.state.db.write() as connection:
            people.set_language(connection, signed_in.principal.user_id, language)
    response = RedirectResponse(safe_next(next), 303)
    response.set_cookie(LANGUAGE_COOKIE, language, **cookie_options(request, max_age=365 * 24 * 3600))
    return response
