"""Query parameters a route does not know are refused: 422 `unknown_query_parameter`, naming them.

A misspelt or unsupported parameter (`fiscal_year` where a route takes only `as_of`) would
otherwise be ignored, and the answer would look like the answer to the question asked. What a
route knows is what it declares: its own query parameters and those of its dependencies (the
dependant FastAPI built for the matched route), the same list its OpenAPI description shows.

The rule holds for the API under /v1 (`api.app` adds `refuse_unknown_query` to each of its
routers, ahead of every other dependency). The pages are left alone: a link may carry what a
page does not read (`?lang=th`, a `saved` flag), and a person is better served by the page.
"""

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError

from ledger.errors import Rejection


def declared_query_names(dependant: Dependant) -> frozenset[str]:
    """The names (aliases) of the query parameters a route's dependant and its dependencies declare."""
    names = {field.alias for field in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= declared_query_names(dependency)
    return frozenset(names)


def refuse_unknown_query(request: Request) -> None:
    """Refuse the request when its query names a parameter the matched route does not declare."""
    if not request.scope.get("query_string"):
        return  # most writes and reads carry none: nothing to walk
    known = declared_query_names(request.scope["route"].dependant)  # a few dozen fields: no cache needed
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        message = f"the route takes no query parameter of this name (it takes: {', '.join(sorted(known)) or 'none'})"
        raise RequestValidationError(
            [{"loc": ("query", name), "msg": message, "type": Rejection.unknown_query_parameter.value}
             for name in unknown]
        )  # fmt: skip
