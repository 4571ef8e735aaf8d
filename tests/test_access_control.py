"""Every route in the OpenAPI, attacked: without a token it answers 401, and an auditor who tries
to write gets 403 and changes nothing. The routes are read from the app itself, so a route added
later without these checks fails here."""

import re

import pytest
from sqlalchemy import text

from tests.conftest import make_user

PUBLIC = {("get", "/health")}
WRITES = {"post", "put", "patch", "delete"}
PROTECTED_TABLES = ("entry", "posting", "account", "book", "party", "app_user", "period_close")


def routes(api) -> list[tuple[str, str]]:
    paths = api.client.app.openapi()["paths"]
    found = [(method, path) for path, operations in paths.items() for method in operations]
    return sorted(route for route in found if route not in PUBLIC)


def concrete(path: str) -> str:
    """The path with every parameter filled in (an object that may well not exist)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def row_counts(db) -> dict[str, int]:
    with db.read() as connection:
        return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in PROTECTED_TABLES}


def test_the_routes_are_found(api):
    found = routes(api)
    assert ("post", "/v1/entries") in found and ("get", "/v1/audit") in found
    assert len(found) >= 30


@pytest.mark.parametrize("token", [None, "", "Bearer", "Bearer nonsense", "Basic YWRtaW46YWRtaW4="])
def test_every_route_needs_a_valid_token(api, token):
    headers = {} if token is None else {"Authorization": token}
    for method, path in routes(api):
        response = api.client.request(method, concrete(path), headers=headers, json={})
        assert response.status_code == 401, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["reason"] == "unauthenticated"


def test_an_auditor_writes_nothing_anywhere(api, db, fund):
    auditor = {"Authorization": f"Bearer {make_user(db, 'auditor', 'auditor')}", "Idempotency-Key": "try"}
    before = row_counts(db)
    writes = [(m, p) for m, p in routes(api) if m in WRITES]
    assert writes
    for method, path in writes:
        response = api.client.request(method, concrete(path), headers=auditor, json={})
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert response.json()["reason"] == "forbidden"
    assert row_counts(db) == before
