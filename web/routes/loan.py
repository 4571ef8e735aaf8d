"""An enterprise's loans from the fund: what is still owed, the next instalment and its date,
the days late, and the schedule with each instalment paid, due or late.

The API's figures and rules: `loans.list_loans` with the party's own only (GET /v1/loans),
`visible_loan` (GET /v1/loans/{id}: another party's loan is 404), `loans.state(...).figures`
and `schedule_views` (GET /v1/loans/{id}/schedule).
"""

from datetime import date

from fastapi import Request

from api.routes.loans import schedule_views, visible_loan
from api.schemas import IdPath
from store import loans
from web.enterprise import EnterpriseId
from web.routes import page_router
from web.session import PagePrincipal
from web.templating import render

router = page_router()
MAX_LOANS_SHOWN = 20


@router.get("/loan")
def enterprise_loans(request: Request, principal: PagePrincipal, enterprise_id: EnterpriseId):
    """Every loan of the enterprise still running, as the home page counts them."""
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        rows = loans.list_loans(connection, filters={"status": "active"}, only_party=enterprise_id, after=0,
                                limit=MAX_LOANS_SHOWN)  # fmt: skip
        shown = [loan_view(connection, loan, today) for loan in rows]
    return render(request, "loan.html", enterprise_id=enterprise_id, loans=shown, today=today)


@router.get("/loans/{loan_id}")
def one_loan(request: Request, principal: PagePrincipal, loan_id: IdPath):
    today = request.app.state.clock.today()
    with request.app.state.db.read() as connection:
        loan = visible_loan(connection, loan_id, principal)
        shown = loan_view(connection, loan, today)
    return render(request, "loan.html", enterprise_id=loan["borrower_party_id"], loans=[shown], today=today)


def loan_view(connection, loan: dict, today: date) -> dict:
    current = loans.state(connection, loan, today)
    views = schedule_views(current, today) if current.plan else []
    return {"loan": loan, "figures": current.figures(today), "instalments": views}
