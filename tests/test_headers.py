"""What every answer tells a browser (api/headers.py), the API docs served from local assets
(api/docs.py), the OpenAPI document's authentication and Idempotency-Key, and the request id a
client may give."""

import re

import pytest
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.headers import STRICT_CSP
from api.settings import Settings
from store import books

PAGE_HEADERS = {"x-frame-options": "DENY", "referrer-policy": "same-origin"}


def assert_guarded(response, cache: str = "no-store") -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.request.url
    assert response.headers["cache-control"] == cache, response.request.url


def test_every_answer_is_nosniff_and_not_stored(api, fund, monkeypatch):
    """Answers of routes, of the middleware's refusals, of the server-error handler."""
    assert_guarded(api.get(f"/v1/books/{fund['book_id']}"))
    assert_guarded(api.as_(None).get("/v1/books"))  # 401
    assert_guarded(api.client.post("/v1/entries", content=b"x" * 300_000, headers=api.headers("k")))  # 413
    assert_guarded(api.get("/v1/no-such-route"))  # 404
    assert_guarded(api.client.get("/health"))
    monkeypatch.setattr(books, "get_book", lambda *_a, **_k: 1 / 0)
    broken = api.get(f"/v1/books/{fund['book_id']}")
    assert broken.status_code == 500
    assert_guarded(broken)
    assert "content-security-policy" not in broken.headers  # JSON, not a page


def test_every_html_answer_gets_the_strict_policy(api):
    """Found by its Content-Type, whatever serves it: a page added later included."""

    @api.client.app.get("/a-page", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse("<p>page</p>")

    for path in ("/a-page", "/docs"):
        answer = api.client.get(path)
        assert answer.headers["content-security-policy"] == STRICT_CSP
        assert PAGE_HEADERS.items() <= answer.headers.items()
        assert_guarded(answer)


def local_urls(html: str) -> list[str]:
    urls = re.findall(r'(?:src|href|data-openapi-url)="([^"]*)"', html)
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    return urls


@pytest.mark.parametrize("page, script", [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_the_api_docs_use_local_assets_only(api, page, script):
    html = api.client.get(page)
    assert html.status_code == 200 and "<script>" not in html.text and "style=" not in html.text
    urls = local_urls(html.text)
    assert f"/docs-assets/{script}" in urls and "/openapi.json" in urls
    for url in urls:
        asset = api.client.get(url)
        assert asset.status_code == 200, url
        if url.startswith("/docs-assets/"):
            assert_guarded(asset, cache="public, max-age=86400")
    assert "SwaggerUIBundle" in api.client.get("/docs-assets/swagger-init.js").text


def test_redocs_page_allows_its_own_styles_by_a_nonce_of_its_answer(api):
    first, second = (api.client.get("/redoc") for _ in range(2))
    nonces = [re.search(r'nonce="([^"]+)"', page.text).group(1) for page in (first, second)]
    assert nonces[0] != nonces[1]
    policy = first.headers["content-security-policy"]
    assert f"style-src 'self' 'nonce-{nonces[0]}'" in policy and "script-src 'self';" in policy
    assert "unsafe" not in policy and "frame-ancestors 'none'" in policy


def test_the_api_docs_can_be_turned_off(db, clock):
    off = create_app(db, clock, Settings.from_environ({"CODI_API_DOCS": "off"}))
    with TestClient(off) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs-assets/swagger-ui-bundle.js"):
            assert client.get(path).status_code == 404, path
        assert client.get("/health").status_code == 200
    with pytest.raises(ValueError, match="CODI_API_DOCS"):
        Settings.from_environ({"CODI_API_DOCS": "maybe"})


def test_the_openapi_document_declares_bearer_tokens_and_idempotency_keys(api):
    schema = api.client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "A token of `codi-ledger user add`"
    }  # fmt: skip
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            expected = [{"bearer": []}] if path.startswith("/v1/") else None
            assert operation.get("security") == expected, path
    parameters = {p["name"]: p for p in schema["paths"]["/v1/entries"]["post"]["parameters"]}
    assert parameters["Idempotency-Key"]["in"] == "header"
    assert parameters["Idempotency-Key"]["schema"]["anyOf"][0]["maxLength"] == 200


def audited_request_id(db) -> str:
    with db.read() as connection:
        return connection.execute(text("SELECT request_id FROM audit_record ORDER BY seq DESC LIMIT 1")).scalar_one()


@pytest.mark.parametrize(
    "given, kept",
    [("import-7.line_42", True), ("a" * 64, True), ("a" * 65, False), ("x\u00e9", False), ("id <script>", False),
     ("forged\\nline", False)],
)  # fmt: skip
def test_a_client_request_id_is_kept_only_if_short_and_plain(api, db, given, kept):
    headers = {**api.headers(f"request-id-{given.encode().hex()}"), "X-Request-Id": given.encode()}
    made = api.client.post("/v1/parties", json={"kind": "other", "name_th": "x"}, headers=headers)
    assert made.status_code == 201, made.text
    request_id = audited_request_id(db)
    assert (request_id == given) is kept
    if not kept:
        assert re.fullmatch("[0-9a-f]{32}", request_id)
