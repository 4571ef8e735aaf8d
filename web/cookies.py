"""How the pages set their cookies: HttpOnly, SameSite=Lax, path /, and Secure when the page was
served over https, or always or never as the setting `cookie_secure` (`CODI_COOKIE_SECURE`, 1 or
0) says (set it to 1 behind a proxy that ends TLS, where the server sees plain http)."""

from fastapi import Request


def secure(request: Request) -> bool:
    setting = request.app.state.settings.cookie_secure
    if setting is not None:
        return setting
    return request.url.scheme == "https"


def cookie_options(request: Request, *, max_age: int | None = None) -> dict:
    return {"httponly": True, "samesite": "lax", "secure": secure(request), "path": "/", "max_age": max_age}
