"""Advance payments through the API: the product's choice (and a loan's own) of what a repayment
beyond what is due does, the schedule version it makes, closure of a loan paid off, and a
backdated or taken-back repayment re-deriving it all.

The loan is the doctest loan of `ledger.loans`: 10,000.00 baht at 12 % over three months,
disbursed on 31 January 2024: 3,400.22 due on 29 February (100.00 interest), 3,400.22 on 31 March
(67.00), 3,400.23 on 30 April (33.67)."""

from store import loans
from tests.test_api_loan_events import cob, refund, take_back
from tests.test_api_loans import (  # noqa: F401  (lender is a fixture)
    application,
    approved_loan,
    balance,
    disburse,
    lender,
    product_body,
    refused,
    repay,
)


def instalments(api, loan_id, day="2024-03-01") -> list[tuple[str, str, str]]:
    rows = api.get(f"/v1/loans/{loan_id}/schedule", as_of=day).json()["instalments"]
    return [(r["due_on"], r["principal"], r["interest"]) for r in rows]


def test_the_product_names_what_an_advance_does_and_a_loan_may_choose_its_own(api, lender):  # noqa: F811
    product = api.get(f"/v1/loan-products/{lender['product_id']}").json()
    assert product["terms"]["advance_payment"] == "reduce_term"  # the default: the loan ends sooner
    held = api.post("/v1/loan-products", product_body(lender, code="HOLD", advance_payment="hold_credit"))
    assert held.status_code == 201, held.text
    assert held.json()["terms"]["advance_payment"] == "hold_credit"
    refused(api.post("/v1/loan-products", product_body(lender, code="BAD", advance_payment="skip")), 422,
            "invalid_request")  # fmt: skip
    own = lender["officer"].post("/v1/loans", application(lender, advance_payment="reduce_instalment"))
    assert own.status_code == 201, own.text
    assert own.json()["advance_payment"] == "reduce_instalment"
    assert approved_loan(lender)["advance_payment"] is None  # the product's choice
    refused(lender["officer"].post("/v1/loans", application(lender, advance_payment="later")), 422, "invalid_request")


def test_an_advance_on_a_due_date_reduces_the_term_or_the_instalment(api, db, lender):  # noqa: F811
    shorter, lower = approved_loan(lender), approved_loan(lender, advance_payment="reduce_instalment")
    for loan in (shorter, lower):
        disburse(lender, loan["id"])
        # 8,000.00 on 29 February: the first instalment (3,400.22) and 4,599.78 of principal
        # ahead, paid on a due date, so no interest of the next period is earned yet.
        paid = repay(lender, loan["id"], "8000.00", "2024-02-29")
        assert paid.status_code == 201, paid.text
        tx = paid.json()["transaction"]
        assert (tx["interest"], tx["principal"], tx["overpayment"]) == ("100.00", "7900.00", "0.00")
        assert paid.json()["loan"]["status"] == "active"
        assert balance(api, paid.json()["loan"]["receivable_account_id"]) == "2100.00"
        assert balance(api, lender["2100"]) == "0.00"
    # Reduce the term: 2,100.00 left, one instalment of 2,121.00 asks no more than 3,400.22.
    assert instalments(api, shorter["id"]) == [("2024-02-29", "7900.00", "100.00"), ("2024-03-31", "2100.00", "21.00")]
    # Reduce the instalment: the same two due dates, re-levelled: 2,100.00 x 0.01 / (1 - 1.01^-2)
    # = 1,065.78, and the last the rest (1,055.22 and 1 % of it).
    assert instalments(api, lower["id"]) == [
        ("2024-02-29", "7900.00", "100.00"), ("2024-03-31", "1044.78", "21.00"), ("2024-04-30", "1055.22", "10.55"),
    ]  # fmt: skip
    shown = api.get(f"/v1/loans/{shorter['id']}", as_of="2024-03-01").json()["figures"]
    assert (shown["maturity_on"], shown["next_due_amount"], shown["principal_outstanding"]) == (
        "2024-03-31", "2121.00", "2100.00")  # fmt: skip
    with db.read() as c:
        assert loans.schedule_versions(c, shorter["id"])[-1]["reason"] == "advance payment: reduce_term"
    # Ageing follows the new schedule: unpaid on 31 March, 15 days past due on 15 April.
    cob(api, "2024-04-15")
    aged = api.get(f"/v1/loans/{shorter['id']}", as_of="2024-04-15").json()["figures"]
    assert (aged["days_past_due"], aged["maturity_on"]) == (15, "2024-03-31")
    # Paying the shortened schedule closes the loan.
    last = repay(lender, shorter["id"], "2121.00", "2024-04-15").json()["loan"]
    assert (last["status"], last["closed_on"]) == ("closed", "2024-04-15")


def test_a_payment_that_clears_everything_closes_the_loan_and_the_rest_is_refundable(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    # 15 February: nothing is due yet; the interest earned to the day (15 of the first period's
    # 29 days: 100.00 x 15 / 29 = 51.72) and the 10,000.00 principal close the loan; 148.28 is
    # an overpayment, refundable. Before this, such a loan stayed active and aged.
    paid = repay(lender, loan["id"], "10200.00", "2024-02-15").json()
    tx = paid["transaction"]
    assert (tx["interest"], tx["principal"], tx["overpayment"]) == ("51.72", "10000.00", "148.28")
    assert (paid["loan"]["status"], paid["loan"]["closed_on"]) == ("closed", "2024-02-15")
    assert paid["loan"]["figures"]["overpaid"] == "148.28"
    assert balance(api, paid["loan"]["receivable_account_id"]) == "0.00"
    assert instalments(api, loan["id"], "2024-02-15") == [("2024-02-15", "10000.00", "51.72")]
    cob(api, "2024-06-14")  # months on: a closed loan is not aged
    closed = api.get(f"/v1/loans/{loan['id']}", as_of="2024-06-14").json()
    assert (closed["status"], closed["figures"]["loan_class"], closed["figures"]["days_past_due"]) == (
        "closed", "pass", 0)  # fmt: skip
    assert refund(lender, loan["id"], "148.28", day="2024-02-16").status_code == 201


def test_taking_an_advance_back_or_backdating_before_it_re_derives_the_schedule(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    original = instalments(api, loan["id"])
    advance = repay(lender, loan["id"], "8000.00", "2024-02-29").json()["transaction"]
    assert len(instalments(api, loan["id"])) == 2
    # Taken back: the schedule version it made drops out with it.
    undone = take_back(lender, loan["id"], advance["id"])
    assert undone.status_code == 201, undone.text
    assert instalments(api, loan["id"]) == original
    assert undone.json()["loan"]["figures"]["principal_outstanding"] == "10000.00"
    # Recorded again, and then one of 500.00 dated before it: the advance is re-derived after
    # it, as if they had been recorded in date order.
    repay(lender, loan["id"], "8000.00", "2024-02-29", key="again")
    repay(lender, loan["id"], "500.00", "2024-02-20")
    in_order = approved_loan(lender)
    disburse(lender, in_order["id"])
    repay(lender, in_order["id"], "500.00", "2024-02-20")
    repay(lender, in_order["id"], "8000.00", "2024-02-29")
    assert instalments(api, loan["id"]) == instalments(api, in_order["id"])
    figures = [api.get(f"/v1/loans/{i}").json()["figures"] for i in (loan["id"], in_order["id"])]
    assert figures[0] == figures[1] and figures[0]["principal_outstanding"] == "1598.67"


def test_held_as_a_credit_the_payment_pays_the_next_instalments_ahead(api, lender):  # noqa: F811
    loan = approved_loan(lender, advance_payment="hold_credit")
    disburse(lender, loan["id"])
    paid = repay(lender, loan["id"], "6800.44", "2024-02-29").json()
    # The first two instalments, as scheduled: the schedule stays.
    tx = paid["transaction"]
    assert (tx["interest"], tx["principal"], tx["overpayment"]) == ("167.00", "6633.44", "0.00")
    assert instalments(api, loan["id"]) == [("2024-02-29", "3300.22", "100.00"), ("2024-03-31", "3333.22", "67.00"),
                                            ("2024-04-30", "3366.56", "33.67")]  # fmt: skip
    cob(api, "2024-04-15")
    ahead = api.get(f"/v1/loans/{loan['id']}", as_of="2024-04-15").json()["figures"]
    assert (ahead["days_past_due"], ahead["total_due"]) == (0, "0.00")  # 31 March was paid ahead
    cob(api, "2024-05-10")
    assert api.get(f"/v1/loans/{loan['id']}", as_of="2024-05-10").json()["figures"]["days_past_due"] == 10
