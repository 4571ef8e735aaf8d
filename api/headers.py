"""The headers every answer carries, whatever served it (a route, a refusal of the middleware, the
server-error handler, a page, a static file):

- `X-Content-Type-Options: nosniff` on every answer: a browser takes each as the type it says;
- `Cache-Control: no-store` on every answer but static assets, which carry ledger or personal
  data or may (a shared computer's cache, a proxy's); static assets are cached for a day;
- on every HTML answer, found by its Content-Type: a strict Content-Security-Policy (scripts,
  styles and images from this origin only, no inline script or style, no plugin, no framing, no
  form posted elsewhere), `X-Frame-Options: DENY` and `Referrer-Policy: same-origin`. A page
  that must allow one thing more (ReDoc's styles, by a nonce of its own) sets its own CSP,
  which is then kept.

A pure ASGI middleware: a route's answer costs one pass over its few headers, nothing more.
"""

from collections.abc import Iterable

from fastapi import FastAPI

STRICT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"no-store")
LONG_CACHE = (b"cache-control", b"public, max-age=86400")
HTML_ONLY = (
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
CSP = b"content-security-policy"
# Where static files are served: the API docs' assets, and the pages' static directory (web/).
STATIC_PREFIXES = ("/docs-assets/", "/static/")


class SecurityHeaders:
    def __init__(self, app, *, static_prefixes: Iterable[str] = STATIC_PREFIXES) -> None:
        self.app = app
        self.static_prefixes = tuple(static_prefixes)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cache = LONG_CACHE if scope["path"].startswith(self.static_prefixes) else NO_STORE

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _added(list(message.get("headers", ())), cache)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _added(headers: list[tuple[bytes, bytes]], cache: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    names = {name.lower(): value for name, value in headers}
    headers.append(NOSNIFF)
    if b"cache-control" not in names:
        headers.append(cache)
    if names.get(b"content-type", b"").lower().startswith(b"text/html"):
        headers.extend(HTML_ONLY)
        if CSP not in names:
            headers.append((CSP, STRICT_CSP.encode()))
    return headers


def install(app: FastAPI) -> None:
    """Around every other layer, the server-error handler's included (Starlette puts it outside
    the app's middleware), so that even a 500 carries the headers."""
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeaders(build())
