"""A query parameter a /v1 route does not know is a 422 that names it, on every route of the API
(api/known_query.py); every parameter a route's OpenAPI description declares is known to it; the
pages are left to read what they read."""

import re

from fastapi.routing import APIRoute, iter_route_contexts

UNKNOWN = "not_a_parameter"


def _api_routes(api) -> list[tuple[str, str]]:
    """(method, path with every path parameter 1) of every route under /v1."""
    routes = [r for r in iter_route_contexts(api.client.app.routes)
              if isinstance(r.original_route, APIRoute) and r.path.startswith("/v1/")]  # fmt: skip
    return [(method, re.sub(r"\{[^}]+\}", "1", r.path)) for r in routes for method in sorted(r.methods)]


def _declared_query(api) -> dict[tuple[str, str], list[str]]:
    spec = api.client.get("/openapi.json").json()
    return {
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path)): [p["name"] for p in op.get("parameters", [])
                                                           if p["in"] == "query"]
        for path, operations in spec["paths"].items() if path.startswith("/v1/")
        for method, op in operations.items()
    }  # fmt: skip


def _refusal_names(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["reason"] == "unknown_query_parameter", problem
    return [error["loc"][1] for error in problem["errors"] if error["loc"][0] == "query"]


def test_every_api_route_refuses_a_query_parameter_it_does_not_know(api):
    routes = _api_routes(api)
    assert len(routes) > 100  # every router of api/routes, not a few
    for method, path in routes:
        response = api.client.request(method, path, params={UNKNOWN: "1"}, headers=api.headers("a-key"))
        assert _refusal_names(response) == [UNKNOWN], (method, path)
        assert UNKNOWN in response.json()["detail"]


def test_every_declared_query_parameter_is_known_to_its_route(api):
    declared = _declared_query(api)
    assert set(declared) == set(_api_routes(api))
    assert "format" in declared[("GET", "/v1/loans/1/schedule")]
    assert {"format", "lang", "fiscal_year"} <= set(declared[("GET", "/v1/reports/financial-position")])
    for (method, path), names in declared.items():
        for name in names:
            response = api.client.request(method, path, params={name: "1", UNKNOWN: "1"}, headers=api.headers("k"))
            assert _refusal_names(response) == [UNKNOWN], (method, path, name)


def test_the_refusal_names_each_unknown_parameter_and_what_the_route_takes(api):
    response = api.get("/v1/books/1/trial-balance", fiscal_year="2567", colour="red")
    assert _refusal_names(response) == ["colour", "fiscal_year"]
    assert "it takes: as_of, format, lang" in response.json()["detail"]
    thai = api.client.get("/v1/books?limt=5", headers={**api.headers(), "Accept-Language": "th"})
    assert _refusal_names(thai) == ["limt"] and thai.json()["title"] != "Unknown query parameter"


def test_pages_are_not_refused_for_what_they_do_not_read(api):
    page = api.client.get("/signin", params={"lang": "th", "utm_source": "line"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
