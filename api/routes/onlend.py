"""On-lending to members: an organisation's own lending rule (issue 18, item 3).

An officer (or admin) sets the rule of an organisation that has its own book: at most a multiple
of the member's savings, at most an amount, and the guarantors required among its other members.
Staff read it. Member loans themselves go through the loan routes (`api.routes.loans`), under a
product of the organisation's book.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.context import LoanOfficer, ReadDep, Staff
from api.loan_schemas import LendingRulePublic, LendingRuleUpdate
from api.schemas import IdPath
from api.writes import Outcome, Write, perform
from ledger.money import format_amount, parse_amount, parse_rate
from ledger.onlend import LendingRule
from store import onlend

router = APIRouter(prefix="/v1")
PATH = "/organisations/{organisation_id}/lending-rule"


def rule_body(row: dict) -> dict:
    maximum = row["maximum_loan_satang"]
    return {**row, "maximum_loan": None if maximum is None else format_amount(maximum)}


@router.put(PATH, response_model=LendingRulePublic, tags=["organisations"])
def set_lending_rule(
    organisation_id: IdPath, body: LendingRuleUpdate, request: Request, write: Write, principal: LoanOfficer
) -> Response:
    """Set (or replace) the organisation's rule, checked on each application for a loan to one of
    its members: over the multiple of the member's savings, 422 `exceeds_savings_multiple`; over
    the maximum, `exceeds_maximum_loan`; too few member guarantors, `guarantors_required`. An
    organisation without its own book: 404."""
    multiple = None if body.savings_multiple is None else parse_rate(body.savings_multiple)
    maximum = None if body.maximum_loan is None else parse_amount(body.maximum_loan)
    rule = LendingRule(multiple, maximum, body.guarantors_required)

    def work(connection, now):
        row = onlend.set_rule(connection, organisation_id, rule, user_id=principal.user_id, now=now)
        return Outcome(LendingRulePublic.model_validate(rule_body(row)), f"lending-rule:{organisation_id}")

    return perform(request, write, principal, "organisation.lending-rule", work)


@router.get(PATH, response_model=LendingRulePublic, tags=["organisations"])
def get_lending_rule(organisation_id: IdPath, connection: ReadDep, principal: Staff) -> dict:
    """The organisation's rule (404 if it set none: it lends without limits of its own)."""
    return rule_body(onlend.get_rule_row(connection, organisation_id))
