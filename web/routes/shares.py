"""The shares the CODI fund holds in an enterprise: how many, its share of the capital, what it
paid, and the dividends declared to it and paid.

The API's figures and rule (GET /v1/enterprises/{id}/equity): `visible_enterprise`,
`equity.list_investments` and `equity.figures_of`, `equity.list_distributions` with each
distribution's part for the fund (a holder that is a fund book's party) and its payment.
"""

from fastapi import Request

from api.routes.equity import visible_enterprise
from store import equity
from web.enterprise import EnterpriseId
from web.routes import page_router
from web.session import PagePrincipal
from web.templating import render

router = page_router()


@router.get("/shares")
def shares(request: Request, principal: PagePrincipal, enterprise_id: EnterpriseId):
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        visible_enterprise(connection, enterprise_id, principal)
        rows = equity.list_investments(connection, filters={"enterprise_party_id": enterprise_id}, only_party=None)
        figures = equity.figures_of(connection, rows, today)
        fund_holders = set(equity.fund_parties(connection))
        distributions = [_fund_part(d, fund_holders) for d in equity.list_distributions(connection, enterprise_id)]
    return render(request, "shares.html", enterprise_id=enterprise_id, today=today,
                  investments=[(row, figures[row["id"]]) for row in rows], distributions=distributions)  # fmt: skip


def _fund_part(distribution: dict, fund_holders: set[int]) -> dict:
    """A distribution with the dividends of it that go to the fund, and when they were paid."""
    payments = [p for p in distribution["payments"] if p["holder_party_id"] in fund_holders]
    part = sum(p["amount_satang"] for p in distribution["parts"]
               if p["holder_party_id"] in fund_holders and p["kind"] == "dividend")  # fmt: skip
    return {**distribution, "fund_part_satang": part, "fund_paid_on": payments[0]["paid_on"] if payments else None}
