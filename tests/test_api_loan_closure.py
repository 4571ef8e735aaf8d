"""Loans that end before they are (fully) disbursed, through the real app: an application
rejected by an approver or withdrawn by an officer, an approved loan cancelled before any
tranche, and the undisbursed remainder of a partly disbursed loan cancelled. Each needs a
reason, is audited, shows in the loan's reads, and is refused afterwards with its own reason."""

import pytest
from sqlalchemy import select

from store.loans import schedule_t
from tests.test_api_loans import (  # noqa: F401  (lender is a fixture)
    application,
    approved_loan,
    balance,
    disburse,
    lender,
    refused,
    repay,
)

TODAY = "2024-06-14"  # the business date of the tests' clock


def applied(bank) -> dict:
    loan = bank["officer"].post("/v1/loans", application(bank))
    assert loan.status_code == 201, loan.text
    return loan.json()


def end(bank, loan_id, what, reason="the group changed its plans", as_=None):
    who = as_ or bank["officer" if what == "withdrawal" else "approver"]
    return who.post(f"/v1/loans/{loan_id}/{what}", {} if reason is None else {"reason": reason})


def test_an_application_rejected_is_refused_approval_and_disbursement(api, lender):  # noqa: F811
    loan = applied(lender)
    refused(end(lender, loan["id"], "rejection", reason=None), 422, "reason_required")
    refused(end(lender, loan["id"], "rejection", reason="  "), 422, "reason_required")
    assert end(lender, loan["id"], "rejection", as_=lender["officer"]).status_code == 403  # approvers only
    done = end(lender, loan["id"], "rejection", reason="savings records could not be verified")
    assert done.status_code == 200, done.text
    shown = api.get(f"/v1/loans/{loan['id']}").json()
    assert (shown["status"], shown["closed_on"], shown["closure_reason"]) == (
        "rejected", TODAY, "savings records could not be verified")  # fmt: skip
    assert shown["approved_by"] is None and shown["figures"]["disbursed"] == "0.00"
    refused(lender["approver"].post(f"/v1/loans/{loan['id']}/approval", {}), 409, "loan_rejected")
    refused(disburse(lender, loan["id"]), 409, "loan_rejected")
    refused(repay(lender, loan["id"], "1.00", "2024-02-01"), 409, "loan_rejected")
    refused(end(lender, loan["id"], "rejection"), 409, "loan_rejected")
    refused(end(lender, loan["id"], "withdrawal"), 409, "loan_rejected")
    refused(end(lender, loan["id"], "cancellation"), 409, "loan_rejected")
    listed = api.get("/v1/loans", status="rejected").json()["data"]
    assert [r["id"] for r in listed] == [loan["id"]]


def test_an_application_withdrawn_by_the_officer(api, lender):  # noqa: F811
    loan = applied(lender)
    done = end(lender, loan["id"], "withdrawal", reason="the group found a grant instead")
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["closure_reason"]) == ("withdrawn", "the group found a grant instead")
    refused(lender["approver"].post(f"/v1/loans/{loan['id']}/approval", {}), 409, "loan_withdrawn")
    refused(disburse(lender, loan["id"]), 409, "loan_withdrawn")
    # only an application is rejected or withdrawn
    approved = approved_loan(lender)
    refused(end(lender, approved["id"], "withdrawal"), 409, "loan_not_pending_approval")
    refused(end(lender, approved["id"], "rejection"), 409, "loan_not_pending_approval")
    refused(end(lender, applied(lender)["id"], "cancellation"), 409, "loan_not_approved")


def test_an_approved_loan_cancelled_before_any_tranche(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    assert end(lender, loan["id"], "cancellation", as_=lender["officer"]).status_code == 403
    done = end(lender, loan["id"], "cancellation", reason="the site was flooded before building began")
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["closed_on"], body["cancelled"]) == ("cancelled", TODAY, "10000.00")
    assert body["figures"]["undisbursed"] == "0.00" and body["approved_by"] is not None
    refused(disburse(lender, loan["id"]), 409, "loan_cancelled")
    refused(end(lender, loan["id"], "cancellation"), 409, "loan_cancelled")
    refused(api.post(f"/v1/loans/{loan['id']}/write-off", {"effective_date": "2024-02-01", "reason": "x"},
                     "wo-cancelled"), 409, "loan_cancelled")  # fmt: skip
    assert balance(api, lender["1100"]) == "1000000.00"  # no money moved
    actions = [(r["action"], r["outcome"]) for r in api.get("/v1/audit", limit=500).json()["data"]]
    assert ("loan.cancel", "ok") in actions and ("loan.disburse", "refused: loan_cancelled") in actions


def test_the_undisbursed_remainder_of_a_loan_cancelled(api, db, lender):  # noqa: F811
    loan = approved_loan(lender)
    first = disburse(lender, loan["id"], "6000.00", "2024-01-31")
    assert first.json()["loan"]["figures"]["undisbursed"] == "4000.00"
    done = end(lender, loan["id"], "cancellation", reason="the second phase of building was dropped")
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["cancelled"], body["amount"]) == ("active", "4000.00", "10000.00")
    assert (body["figures"]["undisbursed"], body["figures"]["disbursed"]) == ("0.00", "6000.00")
    refused(disburse(lender, loan["id"], "1.00", "2024-02-01"), 409, "loan_remainder_cancelled")
    refused(end(lender, loan["id"], "cancellation"), 409, "nothing_to_cancel")
    # The schedule was fixed on what was disbursed and stays so: 6,000.00 at 1 % a month over
    # three months, 600,000 x 0.01 / (1 - 1.01^-3) = 204,013.27 -> 2,040.13 a month; interest
    # 60.00, 40.20 (on 4,019.87) and 20.20 (on 2,019.94); the last takes the residue, 2,040.14.
    plan = api.get(f"/v1/loans/{loan['id']}/schedule").json()
    assert plan["amount"] == plan["total_principal"] == "6000.00"
    assert [i["total"] for i in plan["instalments"]] == ["2040.13", "2040.13", "2040.14"]
    assert [v["reason"] for v in versions(db, loan["id"])][-1].startswith("undisbursed remainder cancelled: 4000.00")
    # Repaying what was disbursed closes the loan (the cancelled remainder is not owed).
    paid = repay(lender, loan["id"], "6120.40", "2024-04-30")
    assert paid.status_code == 201, paid.text
    assert paid.json()["loan"]["status"] == "closed" and paid.json()["transaction"]["overpayment"] == "0.00"


def test_a_fully_disbursed_or_closed_loan_has_nothing_to_cancel(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    refused(end(lender, loan["id"], "cancellation"), 409, "nothing_to_cancel")
    repay(lender, loan["id"], "10200.67", "2024-04-30")
    refused(end(lender, loan["id"], "cancellation"), 409, "loan_closed")


def test_a_remainder_cancelled_when_what_was_disbursed_is_repaid_closes_the_loan(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disburse(lender, loan["id"], "6000.00", "2024-01-31")
    repay(lender, loan["id"], "6120.40", "2024-04-30")
    assert api.get(f"/v1/loans/{loan['id']}").json()["status"] == "active"  # 4,000.00 could still be lent
    done = end(lender, loan["id"], "cancellation")
    assert (done.json()["status"], done.json()["closed_on"]) == ("closed", "2024-04-30")


@pytest.mark.parametrize("what", ["rejection", "withdrawal", "cancellation"])
def test_an_unknown_loan_is_404(lender, what):  # noqa: F811
    refused(end(lender, 987654, what), 404, "not_found")


def versions(db, loan_id) -> list[dict]:
    """The loan's schedule versions, read straight from the table (the API shows the one in force)."""
    with db.read() as c:
        return [dict(r) for r in c.execute(select(schedule_t).where(schedule_t.c.loan_id == loan_id)).mappings()]
