"""CSRF: every form of the pages carries a token that a POST must send back.

The token is an HMAC of a secret the browser holds in an HttpOnly cookie and the server never
stores: the session id once signed in (so the token is per session and dies with it), before
that a random `codi_csrf` cookie (the sign-in and setup forms). Another site can make a browser
send the cookie but cannot read the page to learn the token. Tokens are compared in constant
time; a POST without the right one is refused (403) before its handler runs (`CsrfChecked`).
"""

import hashlib
import hmac
import secrets

from fastapi import Depends, Request

from web.cookies import cookie_options

ANONYMOUS_COOKIE = "codi_csrf"
FIELD = "csrf_token"


class CsrfRefused(Exception):
    """A state-changing page request without its form's token."""


def _secret(request: Request) -> str:
    signed_in_id = getattr(request.state, "session_id", None)
    if signed_in_id:
        return signed_in_id
    secret = request.cookies.get(ANONYMOUS_COOKIE) or getattr(request.state, "new_csrf_secret", None)
    if not secret or len(secret) > 100:
        secret = request.state.new_csrf_secret = secrets.token_urlsafe(32)
    return secret


def token_for(request: Request) -> str:
    return hmac.new(_secret(request).encode(), b"codi-ledger csrf", hashlib.sha256).hexdigest()


def keep_secret(request: Request, response) -> None:
    """Give the browser the anonymous secret its page's token was made from, if it is new."""
    secret = getattr(request.state, "new_csrf_secret", None)
    if secret and not getattr(request.state, "session_id", None):
        response.set_cookie(ANONYMOUS_COOKIE, secret, **cookie_options(request))


async def check_csrf(request: Request) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    form = await request.form()
    sent = form.get(FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), token_for(request).encode()):
        raise CsrfRefused


CsrfChecked = Depends(check_csrf)
