"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), served with this
package's own copies of their scripts and styles (`api/docs_assets/`, their versions and licences
in its README), never from a CDN. The pages hold no inline script or style, so they keep the
strict Content-Security-Policy of `api.headers`, but for what ReDoc's page needs more: ReDoc
writes its styles into <style> elements, allowed by a nonce made anew for each answer (and, for
the one it writes as it loads, before it knows the nonce, by that stylesheet's hash), and runs
its search in a worker it makes from a blob.
"""

import secrets
from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.headers import STRICT_CSP

ASSETS = Path(__file__).with_name("docs_assets")
ASSETS_URL = "/docs-assets"
BEARER = "bearer"
# The scrollbar stylesheet redoc.standalone.js (2.5.0) writes as it loads.
REDOC_LOADING_STYLE = "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
{head}
</head>
<body>
{body}
</body>
</html>
"""
SWAGGER_UI = {
    "head": '<link rel="stylesheet" href="{assets}/swagger-ui.css">',
    "body": '<div id="swagger-ui" data-openapi-url="{openapi}"></div>\n'
    '<script src="{assets}/swagger-ui-bundle.js"></script>\n<script src="{assets}/swagger-init.js"></script>',
}
REDOC = {
    "head": "",
    "body": '<div id="redoc" data-openapi-url="{openapi}"></div>\n'
    '<script src="{assets}/redoc.standalone.js"></script>\n'
    '<script src="{assets}/redoc-init.js" nonce="{nonce}"></script>',
}


def install(app: FastAPI) -> None:
    """Serve /docs, /redoc and their assets (the app serves /openapi.json itself)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(_page(app, SWAGGER_UI, nonce=""))

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        styles = f"style-src 'self' 'nonce-{nonce}' {REDOC_LOADING_STYLE}"
        policy = STRICT_CSP.replace("style-src 'self'", styles) + "; worker-src blob:"
        return HTMLResponse(_page(app, REDOC, nonce=nonce), headers={"Content-Security-Policy": policy})


def _page(app: FastAPI, parts: dict[str, str], *, nonce: str) -> str:
    values = {"assets": ASSETS_URL, "openapi": escape(app.openapi_url or ""), "nonce": nonce}
    filled = {name: part.format(**values) for name, part in parts.items()}
    return PAGE.format(title=escape(f"{app.title}: API"), assets=ASSETS_URL, **filled)


def declare_bearer_tokens(app: FastAPI) -> None:
    """The OpenAPI document says what authentication does: every /v1 operation takes a bearer
    token (api.context checks it), so that "Authorize" in /docs sends it."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[BEARER] = {"type": "http", "scheme": "bearer", "description": "A token of `codi-ledger user add`"}
            for path, operations in schema["paths"].items():
                if path.startswith("/v1/"):
                    for operation in operations.values():
                        operation["security"] = [{BEARER: []}]
        return app.openapi_schema

    app.openapi = openapi
