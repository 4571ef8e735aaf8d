"""Which enterprise an enterprise's page is about, and links between its pages.

An enterprise's person sees their own party's pages (`/sales`, `/statement`, `/loan`,
`/shares`); anyone else named by `?enterprise=` is 404, by the API's own rule
(`api.routes.welfare.own`). Staff name the enterprise (`/sales?enterprise=12`, the links of
`/enterprises/12`), and read what their role reads.
"""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends
from jinja2 import pass_context

from api.routes.welfare import own
from api.schemas import IdQuery
from store import books
from web.session import PagePrincipal


def enterprise_scope(principal: PagePrincipal, enterprise: IdQuery = None) -> int:
    party_id = principal.party_id if enterprise is None else enterprise
    if party_id is None:  # staff, without naming an enterprise
        raise books.not_found("enterprise", enterprise)
    own(principal, party_id, "enterprise")
    return party_id


EnterpriseId = Annotated[int, Depends(enterprise_scope)]


@pass_context
def enterprise_url(context, path: str, **params) -> str:
    """A link to another page about the same enterprise (the template's `enterprise_id`): staff
    carry `?enterprise=` along, its own person needs none."""
    principal = context.get("principal")
    if principal is None or principal.party_id is None:
        params = {"enterprise": context["enterprise_id"], **params}
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{path}?{query}" if query else path
