"""How the pages set their cookies: HttpOnly, SameSite=Lax, path /, and Secure when the page was
served over https, or always or never as `CODI_COOKIE_SECURE` (1 or 0) says (set it to 1 behind
a proxy that ends TLS, where the server sees plain http)."""

import os

from fastapi import Request


def secure(request: Request) -> bool:
    setting = os.environ.get("CODI_COOKIE_SECURE", "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    return request.url.scheme == "https"


def cookie_options(request: Request, *, max_age: int | None = None) -> dict:
    return {"httponly": True, "samesite": "lax", "secure": secure(request), "path": "/", "max_age": max_age}
