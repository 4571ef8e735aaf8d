"""Loan events after disbursement, through the real app, with hand-checked figures that must equal
the ledger's balances: penalty interest at close of business and repayments that pay it first,
write-off and recoveries, refunds of overpayments, and closure only once a loan is fully repaid;
each bad input with its reason, the roles, and the audit trail."""

from datetime import date
from decimal import Decimal

import pytest

from ledger.loan_book import settled_merged
from ledger.money import format_amount
from store import loans
from tests.conftest import NO_KEY, make_user
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


@pytest.fixture
def penalised(api, lender) -> dict:  # noqa: F811
    """The lender with a second product: the same 12 % over three months, and 24 % a year of
    penalty interest on overdue principal from the first day past due."""
    body = product_body(lender, code="PENALTY-24", penalty_rate_annual_percent="24")
    product = api.post("/v1/loan-products", body)
    assert product.status_code == 201, product.text
    assert product.json()["accounts"]["penalty_receivable"] == lender["1220"]
    return {**lender, "penalty_product_id": product.json()["id"]}


def cob(api, day: str) -> dict:
    response = api.post("/v1/close-of-business", {"date": day})
    assert response.status_code == 200, response.text
    return response.json()


def write_off(bank, loan_id, day="2024-03-10", reason="the cooperative was dissolved", key=None, as_=None):
    body = {"effective_date": day, **({"reason": reason} if reason is not None else {})}
    who = as_ or bank["approver"]
    return who.post(f"/v1/loans/{loan_id}/write-off", body, key or f"w-{loan_id}-{day}-{reason}")


def recover(bank, loan_id, amount, day="2024-04-01", key=None):
    body = {"amount": amount, "effective_date": day}
    return bank["officer"].post(f"/v1/loans/{loan_id}/recoveries", body, key or f"rc-{loan_id}-{day}-{amount}")


def refund(bank, loan_id, amount, day="2024-05-01", key=None):
    body = {"amount": amount, "effective_date": day}
    return bank["officer"].post(f"/v1/loans/{loan_id}/refunds", body, key or f"rf-{loan_id}-{day}-{amount}")


# --- penalty interest --------------------------------------------------------------------------


def test_close_of_business_charges_penalty_on_overdue_principal(api, penalised):
    loan = approved_loan(penalised, product_id=penalised["penalty_product_id"])
    disburse(penalised, loan["id"])
    # Nothing is overdue before the first due date (29 February): no penalty.
    assert cob(api, "2024-02-29")["entry_ids"] and balance(api, penalised["1220"]) == "0.00"
    # 3,300.22 of principal overdue from 1 March: through 10 March, 10 days at 24 % a year,
    # 330,022 x 24/100 x 10/365 = 2,170.008 satang: 21.70.
    report = cob(api, "2024-03-10")
    assert (report["loans_penalised"], report["penalty_interest"]) == (1, "21.70")
    assert (balance(api, penalised["1220"]), balance(api, penalised["4200"])) == ("21.70", "-21.70")
    before = api.get(f"/v1/books/{penalised['book_id']}/trial-balance").json()
    assert cob(api, "2024-03-10")["entry_ids"] == []  # idempotent, like accrual
    assert api.get(f"/v1/books/{penalised['book_id']}/trial-balance").json() == before
    # Through 20 March, 20 days: 4,340.015 satang; 21.70 more.
    cob(api, "2024-03-20")
    figures = api.get(f"/v1/loans/{loan['id']}", as_of="2024-03-20").json()["figures"]
    assert figures["penalty_due"] == balance(api, penalised["1220"]) == "43.40"
    # A repayment pays the penalty first, then interest, then principal.
    paid = repay(penalised, loan["id"], "200.00", "2024-03-20").json()["transaction"]
    assert (paid["penalty"], paid["interest"], paid["principal"]) == ("43.40", "100.00", "56.60")
    assert (balance(api, penalised["1220"]), balance(api, penalised["4200"])) == ("0.00", "-43.40")
    statement = api.get(f"/v1/loans/{loan['id']}/statement").json()["lines"]
    assert [line["kind"] for line in statement].count("penalty") == 2
    # The repayment stops the penalty on what it paid from its own day: through 25 March the loan
    # has earned 330,022 x 0.24 x 19/365 (1-19 March) = 4,123.01 -> 41.23, and 324,362 x 0.24 x
    # 6/365 (20-25 March, on 3,243.62) = 1,279.67 -> 12.80: 54.03, of which 43.40 was charged.
    cob(api, "2024-03-25")
    assert (balance(api, penalised["1220"]), balance(api, penalised["4200"])) == ("10.63", "-54.03")


def test_no_penalty_without_a_penalty_rate(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    cob(api, "2024-04-20")
    assert balance(api, lender["1220"]) == balance(api, lender["4200"]) == "0.00"
    assert api.get(f"/v1/loans/{loan['id']}").json()["figures"]["penalty_due"] == "0.00"


# --- write-off and recovery --------------------------------------------------------------------


def test_a_write_off_uses_the_allowance_then_loss_and_reverses_what_was_accrued(api, penalised):
    loan = approved_loan(penalised, product_id=penalised["penalty_product_id"])
    account = disburse(penalised, loan["id"]).json()["loan"]["receivable_account_id"]
    # A provision of 4,000.00 made earlier: Dr loan loss expense / Cr allowance for loan losses.
    provision = api.entry(penalised["book_id"], [(penalised["5200"], "4000.00"), (penalised["1290"], "-4000.00")],
                          day="2024-02-01")  # fmt: skip
    assert provision.status_code == 201, provision.text
    # Close of business accrues 100.00 + 67.00 x 11/31 (29 February to 10 March) = 123.77 of interest
    # and charges 21.70 of penalty (see above).
    cob(api, "2024-03-10")
    assert (balance(api, penalised["1210"]), balance(api, penalised["1220"])) == ("123.77", "21.70")
    done = write_off(penalised, loan["id"])
    assert done.status_code == 201, done.text
    tx = done.json()["transaction"]
    assert (tx["kind"], tx["principal"], tx["interest"], tx["penalty"], tx["amount"]) == (
        "write_off", "10000.00", "123.77", "21.70", "10145.47")  # fmt: skip
    assert tx["reason"] == "the cooperative was dissolved"
    assert done.json()["loan"]["status"] == "written_off"
    entry = api.get(f"/v1/entries/{tx['entry_id']}").json()
    assert sorted((p["account_code"], p["amount"]) for p in entry["postings"]) == sorted([
        ("1290", "4000.00"), ("5200", "6000.00"), (f"1200-L{loan['id']}", "-10000.00"),
        ("4100", "123.77"), ("1210", "-123.77"), ("4200", "21.70"), ("1220", "-21.70"),
    ])  # fmt: skip
    assert balance(api, account) == balance(api, penalised["1210"]) == balance(api, penalised["1220"]) == "0.00"
    assert (balance(api, penalised["1290"]), balance(api, penalised["4100"]), balance(api, penalised["4200"])) == (
        "0.00", "0.00", "0.00")  # fmt: skip
    figures = api.get(f"/v1/loans/{loan['id']}").json()["figures"]
    assert (figures["principal_outstanding"], figures["interest_receivable"], figures["penalty_due"]) == (
        "0.00", "0.00", "0.00")  # fmt: skip
    # Close of business leaves a written-off loan alone; repayments and a second write-off are refused.
    assert cob(api, "2024-03-20")["loans_processed"] == 0
    refused(repay(penalised, loan["id"], "10.00", "2024-03-20"), 409, "loan_written_off")
    refused(write_off(penalised, loan["id"], day="2024-03-20"), 409, "loan_written_off")
    # Recoveries go to recovery income and never reopen the loan, up to what was written off.
    got = recover(penalised, loan["id"], "3000.00")
    assert got.status_code == 201, got.text
    assert got.json()["loan"]["status"] == "written_off" and got.json()["transaction"]["kind"] == "recovery"
    assert (balance(api, penalised["4400"]), balance(api, penalised["1100"])) == ("-3000.00", "993000.00")
    refused(recover(penalised, loan["id"], "7145.48", day="2024-04-02"), 409, "recovery_exceeds_written_off")
    assert recover(penalised, loan["id"], "7145.47", day="2024-04-02").status_code == 201
    refused(recover(penalised, loan["id"], "1.00", day="2024-03-31"), 409, "date_before_last_transaction")
    lines = api.get(f"/v1/loans/{loan['id']}/statement").json()["lines"]
    assert [(line["kind"], line["principal_outstanding"]) for line in lines][-3:] == [
        ("write_off", "0.00"), ("recovery", "0.00"), ("recovery", "0.00")]  # fmt: skip


def test_write_offs_and_recoveries_refused(api, db, lender):  # noqa: F811
    loan = approved_loan(lender)
    refused(write_off(lender, loan["id"]), 409, "loan_not_disbursed")
    disburse(lender, loan["id"])
    refused(write_off(lender, loan["id"], reason=None), 422, "reason_required")
    refused(write_off(lender, loan["id"], reason="  "), 422, "reason_required")
    refused(write_off(lender, loan["id"], as_=lender["officer"]), 403, "forbidden")
    refused(write_off(lender, loan["id"], day="2024-06-15"), 422, "date_in_future")
    refused(write_off(lender, loan["id"], day="2024-01-30"), 409, "date_before_last_transaction")
    body = {"effective_date": "2024-03-10", "reason": "x"}
    refused(lender["approver"].post(f"/v1/loans/{loan['id']}/write-off", body, NO_KEY), 422, "idempotency_key_required")
    refused(recover(lender, loan["id"], "1.00"), 409, "loan_not_written_off")
    refused(recover(lender, 999, "1.00"), 404, "not_found")
    assert api.get(f"/v1/loans/{loan['id']}").json()["status"] == "active"
    assert balance(api, lender["5200"]) == "0.00"
    again = write_off(lender, loan["id"], key="w-twice")
    assert again.status_code == 201
    assert write_off(lender, loan["id"], key="w-twice").json() == again.json()  # replayed, one effect
    refused(recover(lender, loan["id"], "0.00"), 422, "amount_must_be_positive")
    coop = api.as_(make_user(db, "coop", "enterprise", party_id=lender["borrower_id"]))
    assert coop.get(f"/v1/loans/{loan['id']}").json()["status"] == "written_off"
    refused(coop.post(f"/v1/loans/{loan['id']}/recoveries", {"amount": "1.00", "effective_date": "2024-04-01"}, "k"),
            403, "forbidden")  # fmt: skip
    actions = [(r["action"], r["outcome"]) for r in api.get("/v1/audit", limit=500).json()["data"]]
    assert ("loan.write-off", "ok") in actions and ("loan.write-off", "refused: reason_required") in actions


# --- refunds and closure -----------------------------------------------------------------------


def test_an_overpayment_is_refunded_never_beyond_its_balance(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    refused(refund(lender, loan["id"], "0.01", day="2024-02-01"), 409, "refund_exceeds_overpayment")
    repay(lender, loan["id"], "3400.22", "2024-02-29")
    repay(lender, loan["id"], "3400.22", "2024-03-31")
    closed = repay(lender, loan["id"], "3500.00", "2024-04-30").json()["loan"]
    assert closed["status"] == "closed" and closed["figures"]["overpaid"] == "99.77"
    refused(refund(lender, loan["id"], "99.78"), 409, "refund_exceeds_overpayment")
    refused(refund(lender, loan["id"], "10.00", day="2024-04-29"), 409, "date_before_last_transaction")
    done = refund(lender, loan["id"], "60.00")
    assert done.status_code == 201, done.text
    assert done.json()["transaction"]["overpayment"] == "60.00"
    assert done.json()["loan"]["figures"]["overpaid"] == "39.77"
    assert refund(lender, loan["id"], "39.77").status_code == 201
    assert balance(api, lender["2100"]) == "0.00"
    assert balance(api, lender["1100"]) == "1000200.67"  # the interest only
    refused(refund(lender, loan["id"], "0.01"), 409, "refund_exceeds_overpayment")
    refused(repay(lender, loan["id"], "1.00", "2024-05-02"), 409, "loan_closed")
    unkeyed = {"amount": "1.00", "effective_date": "2024-05-02"}
    refused(lender["officer"].post(f"/v1/loans/{loan['id']}/refunds", unkeyed, NO_KEY), 422, "idempotency_key_required")


def test_a_loan_with_undisbursed_amount_is_not_closed(api, lender):  # noqa: F811
    loan = approved_loan(lender, amount="20000.00", savings="2000.00")
    disburse(lender, loan["id"], "10000.00")
    for amount, day in (("3400.22", "2024-02-29"), ("3400.22", "2024-03-31"), ("3400.23", "2024-04-30")):
        last = repay(lender, loan["id"], amount, day).json()["loan"]
    assert last["status"] == "active" and last["closed_on"] is None
    figures = last["figures"]
    assert (figures["principal_outstanding"], figures["undisbursed"], figures["total_due"]) == (
        "0.00", "10000.00", "0.00")  # fmt: skip
    assert approved_loan(lender, product_id=lender["product_id"])["status"] == "approved"


def test_products_name_the_new_accounts(api, lender):  # noqa: F811
    product = api.get(f"/v1/loan-products/{lender['product_id']}").json()
    codes = {"penalty_receivable": "1220", "allowance": "1290", "write_off_expense": "5200", "recovery_income": "4400"}
    assert {role: product["accounts"][role] for role in codes} == {role: lender[code] for role, code in codes.items()}
    refused(api.post("/v1/loan-products", product_body(lender, code="X", account_codes={"allowance": "9999"})),
            404, "not_found")  # fmt: skip
    assert application(lender)["product_id"] == lender["product_id"]


# --- rescheduling and moratorium ---------------------------------------------------------------


def reschedule(bank, loan_id, **body):
    return bank["officer"].post(f"/v1/loans/{loan_id}/reschedules", {"effective_date": "2024-03-15", **body})


def moratorium(bank, loan_id, **body):
    span = {"first_day": "2024-03-01", "last_day": "2024-04-30", "reason": "flood in the province"}
    return bank["officer"].post(f"/v1/loans/{loan_id}/moratoria", {**span, **body})


def test_a_reschedule_is_a_new_version_and_keeps_the_old(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    repay(lender, loan["id"], "3400.22", "2024-02-29")
    done = reschedule(lender, loan["id"], rate_annual_percent="6", extra_instalments=3, reason="harvest failed")
    assert done.status_code == 201, done.text
    plan = api.get(f"/v1/loans/{loan['id']}/schedule").json()
    # The first instalment (due before 15 March) stays; 6,699.78 is scheduled again from 29
    # February over 2 + 3 instalments at 0.5 % a month: the level instalment is 669,978 x 0.005 /
    # (1 - 1.005^-5) = 136,012.22 satang -> 1,360.12; the first period (29 February - 31 March,
    # 31 days against a regular 29) charges 6,699.78 x 0.5 % x 31/29 = 35.81.
    assert [(i["due_on"], i["total"]) for i in plan["instalments"]][:3] == [
        ("2024-02-29", "3400.22"), ("2024-03-31", "1360.12"), ("2024-04-30", "1360.12")]  # fmt: skip
    assert plan["instalments"][1]["interest"] == "35.81" and plan["instalments"][-1]["due_on"] == "2024-07-31"
    assert plan["total_principal"] == plan["amount"] == "10000.00" and len(plan["instalments"]) == 6
    before = api.get(f"/v1/loans/{loan['id']}/schedule", as_of="2024-03-14").json()
    assert [i["total"] for i in before["instalments"]] == ["3400.22", "3400.22", "3400.23"]  # the old version
    assert repay(lender, loan["id"], "1360.12", "2024-03-31").json()["transaction"]["interest"] == "35.81"
    refused(reschedule(lender, loan["id"], rate_annual_percent="5", reason="again"), 409,
            "date_before_last_transaction")  # fmt: skip


def test_a_reschedule_folds_the_arrears_into_the_new_schedule(api, lender):  # noqa: F811
    """The doctest loan (10,000.00 at 1 % a month over three months, 3,400.22 due on 29 February)
    pays only 50.00 by its first due date; on 15 March it is 15 days past due, and is rescheduled
    over one instalment more at the same rate."""
    loan = approved_loan(lender)
    account = disburse(lender, loan["id"]).json()["loan"]["receivable_account_id"]
    paid = repay(lender, loan["id"], "50.00", "2024-02-29").json()["transaction"]
    assert (paid["interest"], paid["principal"]) == ("50.00", "0.00")
    before = api.get(f"/v1/loans/{loan['id']}", as_of="2024-03-15").json()["figures"]
    assert (before["days_past_due"], before["principal_due"], before["interest_due"]) == (15, "3300.22", "50.00")
    done = reschedule(lender, loan["id"], extra_instalments=1, reason="the harvest failed")
    assert done.status_code == 201, done.text
    # The first instalment now asks only what was paid of it (no principal, 50.00 of interest).
    # Its unpaid 3,300.22 of principal stays in the balance scheduled again: all 10,000.00 from
    # 29 February over 2 + 1 instalments at 1 %: 1,000,000 x 0.01 / (1 - 1.01^-3) = 340,022.11
    # -> 3,400.22 a month. The first new period (29 February - 31 March, 31 days against a
    # regular 29) charges 10,000.00 x 1 % x 31/29 = 106.90, principal 3,293.32; then 6,706.68 x
    # 1 % = 67.07 (principal 3,333.15) and 3,373.53 x 1 % = 33.74 with the last 3,373.53. The
    # unpaid 50.00 of interest is not capitalised: it is spread over the three, 16.67, 16.67
    # and 16.66 (the last takes the remainder).
    plan = api.get(f"/v1/loans/{loan['id']}/schedule", as_of="2024-03-15").json()
    assert [(i["due_on"], i["principal"], i["interest"], i["total"], i["status"]) for i in plan["instalments"]] == [
        ("2024-02-29", "0.00", "50.00", "50.00", "paid"),
        ("2024-03-31", "3293.32", "123.57", "3416.89", "upcoming"),
        ("2024-04-30", "3333.15", "83.74", "3416.89", "upcoming"),
        ("2024-05-31", "3373.53", "50.40", "3423.93", "upcoming"),
    ]  # fmt: skip
    assert plan["total_principal"] == "10000.00" and plan["total_interest"] == "307.71"
    after = done.json()["figures"]
    assert (after["days_past_due"], after["total_due"], after["loan_class"]) == (0, "0.00", "pass")
    assert (after["next_due_on"], after["next_due_amount"], after["principal_outstanding"]) == (
        "2024-03-31", "3416.89", "10000.00")  # fmt: skip
    # No money moved: the receivable is what the journal says, and the old version is kept.
    assert balance(api, account) == "10000.00"
    old = api.get(f"/v1/loans/{loan['id']}/schedule", as_of="2024-03-14").json()["instalments"]
    assert old[0]["total"] == "3400.22" and old[0]["status"] == "overdue"
    # What was paid before the fold cannot be backdated around it, nor taken back.
    refused(repay(lender, loan["id"], "10.00", "2024-03-01"), 409, "date_before_last_transaction")
    undo = lender["officer"].post(f"/v1/loans/{loan['id']}/repayments/{paid['id']}/reversal", {"reason": "bounced"},
                                  "undo-folded")  # fmt: skip
    refused(undo, 409, "date_before_last_transaction")
    # Close of business through 31 March accrues the first period's 100.00, the new one's 106.90
    # and the first day of the next, 67.07 x 1/30 = 2.24, less the 50.00 paid straight to
    # income: 159.14, the folded 50.00 among it. The instalment of 31 March then settles 123.57
    # of it; 35.57 stays receivable (33.33 of folded shares still to come, and the 2.24).
    cob(api, "2024-03-31")
    assert balance(api, lender["1210"]) == "159.14"
    paid = repay(lender, loan["id"], "3416.89", "2024-03-31").json()["transaction"]
    assert (paid["interest"], paid["principal"], paid["interest_from_receivable"]) == ("123.57", "3293.32", "123.57")
    assert balance(api, lender["1210"]) == "35.57" and balance(api, account) == "6706.68"
    assert api.get(f"/v1/loans/{loan['id']}", as_of="2024-04-01").json()["figures"]["days_past_due"] == 0


def test_penalty_charged_before_a_fold_stays_and_later_penalties_are_charged_in_full(api, penalised):
    """The penalised loan pays nothing: through 15 March its 3,300.22 overdue since 1 March earns
    15 days at 24 %, 330,022 x 0.24 x 15/365 = 3,254.95 satang: 32.55. The reschedule of 15
    March folds the arrears (the new schedule of the test above: 3,293.32 of principal due on
    31 March). Unpaid, that is overdue from 1 April: through 10 April, 10 days, 329,332 x 0.24 x
    10/365 = 2,165.47 satang: 21.65 more, charged in full (not set off against the 32.55 the
    folded instalment earned before, which the new schedule no longer shows as overdue)."""
    loan = approved_loan(penalised, product_id=penalised["penalty_product_id"])
    disburse(penalised, loan["id"])
    assert cob(api, "2024-03-15")["penalty_interest"] == "32.55"
    done = reschedule(penalised, loan["id"], extra_instalments=1, reason="the harvest failed")
    assert done.status_code == 201, done.text
    new = api.get(f"/v1/loans/{loan['id']}/schedule", as_of="2024-03-15").json()["instalments"][1]
    assert (new["due_on"], new["principal"]) == ("2024-03-31", "3293.32")
    assert cob(api, "2024-03-31")["penalty_interest"] == "0.00"  # nothing overdue since the fold
    assert cob(api, "2024-04-10")["penalty_interest"] == "21.65"
    assert balance(api, penalised["1220"]) == "54.20"
    assert cob(api, "2024-04-10")["entry_ids"] == []  # and idempotent


def test_folded_arrears_of_a_non_performing_loan_are_income_only_when_paid(api, lender):  # noqa: F811
    """A twelve-month loan that pays nothing: by 31 May it is 92 days past due, non-performing,
    and close of business reverses the interest it had accrued. Rescheduled on 1 June, it is
    not past due and accrues again, but only the new schedule's interest: the folded interest
    is asked for, not accrued again (cash basis, as on a non-performing loan)."""
    loan = approved_loan(lender, term_instalments=12)
    disburse(lender, loan["id"])
    cob(api, "2024-03-31")
    assert balance(api, lender["1210"]) != "0.00"
    assert cob(api, "2024-05-31")["non_performing"] == 1
    assert balance(api, lender["1210"]) == balance(api, lender["4100"]) == "0.00"  # reversed
    done = reschedule(lender, loan["id"], effective_date="2024-06-01", extra_instalments=3, reason="flood")
    assert done.status_code == 201, done.text
    plan = api.get(f"/v1/loans/{loan['id']}/schedule").json()
    # four instalments were due by 1 June and nothing was paid: 10,000.00 is scheduled again from
    # 31 May over 8 + 3; its first month charges 10,000.00 x 1 % = 100.00
    assert [i["total"] for i in plan["instalments"][:4]] == ["0.00"] * 4 and len(plan["instalments"]) == 15
    unpaid = sum(Decimal(i["interest"]) for i in plan["instalments"]) - sum(
        Decimal(i["total"]) - Decimal(i["principal"]) for i in plan["instalments"][:4])  # fmt: skip
    assert plan["total_principal"] == "10000.00" and unpaid > Decimal("100.00")
    figures = api.get(f"/v1/loans/{loan['id']}", as_of="2024-06-02").json()["figures"]
    assert (figures["days_past_due"], figures["total_due"], figures["loan_class"]) == (0, "0.00", "pass")
    # Close of business on 2 June accrues 3 of the new period's 30 days: 100.00 x 3/30 = 10.00,
    # and none of the interest reversed when the loan stopped performing.
    cob(api, "2024-06-02")
    assert (balance(api, lender["1210"]), balance(api, lender["4100"])) == ("10.00", "-10.00")


def test_a_reschedule_to_a_new_instalment_takes_the_shortest_term_that_fits(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    repay(lender, loan["id"], "3400.22", "2024-02-29")
    refused(reschedule(lender, loan["id"], instalment_amount="1400.00", extra_instalments=1, reason="x"), 422,
            "invalid_request")  # fmt: skip
    refused(reschedule(lender, loan["id"], instalment_amount="1.00", reason="x"), 422, "invalid_term")
    done = reschedule(lender, loan["id"], instalment_amount="1400.00", reason="the group asked for smaller ones")
    assert done.status_code == 201, done.text
    # 6,699.78 left at 1 % a month: over 4 instalments 669,978 x 0.01 / (1 - 1.01^-4) = 171,702.69
    # satang a month, too much; over 5, 138,042.13 -> 1,380.42, within 1,400.00: five instalments.
    plan = api.get(f"/v1/loans/{loan['id']}/schedule").json()["instalments"]
    assert len(plan) == 6 and plan[-1]["due_on"] == "2024-07-31"
    assert {i["total"] for i in plan[1:-1]} == {"1380.42"} and Decimal(plan[-1]["total"]) <= Decimal("1400.00")
    assert done.json()["term_instalments"] == 6


def test_a_moratorium_suspends_principal_and_interest(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    repay(lender, loan["id"], "3400.22", "2024-02-29")
    done = moratorium(lender, loan["id"])
    assert done.status_code == 201, done.text
    plan = api.get(f"/v1/loans/{loan['id']}/schedule").json()["instalments"]
    # The two due dates in March and April owe nothing; the rest of the loan moves two months on.
    assert [(i["due_on"], i["principal"], i["interest"]) for i in plan] == [
        ("2024-02-29", "3300.22", "100.00"), ("2024-03-31", "0.00", "0.00"), ("2024-04-30", "0.00", "0.00"),
        ("2024-05-31", "3333.22", "67.00"), ("2024-06-30", "3366.56", "33.67"),
    ]  # fmt: skip
    # Nothing accrues in the suspended periods, those that end at the due dates in the span
    # (29 February to 29 April); the next period, from 30 April, earns 67.00 x 1/31 on its first day.
    cob(api, "2024-04-29")
    assert balance(api, lender["1210"]) == "0.00" and balance(api, lender["4100"]) == "-100.00"
    cob(api, "2024-04-30")
    assert balance(api, lender["1210"]) == "2.16"
    figures = api.get(f"/v1/loans/{loan['id']}", as_of="2024-04-30").json()["figures"]
    assert (figures["days_past_due"], figures["total_due"], figures["next_due_on"], figures["next_due_amount"]) == (
        0, "0.00", "2024-05-31", "3400.22")  # fmt: skip


@pytest.mark.parametrize(
    ("call", "body", "status", "reason"),
    [
        (reschedule, {"rate_annual_percent": "6"}, 422, "reason_required"),
        (reschedule, {"rate_annual_percent": "6", "reason": " "}, 422, "reason_required"),
        (reschedule, {"reason": "why"}, 422, "invalid_request"),
        (reschedule, {"rate_annual_percent": "150", "reason": "why"}, 422, "rate_out_of_range"),
        (reschedule, {"extra_instalments": -1, "reason": "why"}, 422, "invalid_term"),
        (reschedule, {"extra_instalments": 2000, "reason": "why"}, 422, "invalid_term"),
        (reschedule, {"extra_instalments": 1, "reason": "why", "effective_date": "2024-06-15"}, 422, "date_in_future"),
        (reschedule, {"extra_instalments": 1, "reason": "why", "effective_date": "2024-05-01"}, 409,
         "nothing_to_reschedule"),
        (reschedule, {"extra_instalments": 1, "reason": "why", "effective_date": "2024-01-30"}, 409,
         "date_before_last_transaction"),
        (moratorium, {"reason": None}, 422, "reason_required"),
        (moratorium, {"last_day": "2024-02-01"}, 422, "invalid_date_range"),
        (moratorium, {"first_day": "2024-03-01", "last_day": "2024-03-30"}, 422, "moratorium_without_due_date"),
    ],
)
def test_bad_reschedules_and_moratoria_change_nothing(api, lender, call, body, status, reason):  # noqa: F811
    loan = approved_loan(lender)
    refused(call(lender, loan["id"], **({"extra_instalments": 1, "reason": "why"} if call is reschedule else {})),
            409, "loan_not_disbursed")  # fmt: skip
    disburse(lender, loan["id"])
    refused(call(lender, loan["id"], **body), status, reason)
    assert len(api.get(f"/v1/loans/{loan['id']}/schedule").json()["instalments"]) == 3


# --- interest rebates, litigation, and a rate change for loans meeting a rule ------------------


def rebate(bank, loan_id, amount, day="2024-03-01", reason="repaid on time all year", to="overpayments", as_=None):
    body = {"amount": amount, "effective_date": day, "to": to, **({"reason": reason} if reason else {})}
    return (as_ or bank["approver"]).post(f"/v1/loans/{loan_id}/rebates", body, f"rb-{loan_id}-{day}-{amount}-{to}")


def test_an_interest_rebate_to_a_borrower_that_repaid_well(api, lender):  # noqa: F811
    good, late = approved_loan(lender), approved_loan(lender)
    for loan in (good, late):
        disburse(lender, loan["id"])
    repay(lender, good["id"], "3400.22", "2024-02-29")  # 100.00 of it interest
    refused(rebate(lender, late["id"], "1.00"), 409, "not_in_good_standing")
    refused(rebate(lender, good["id"], "10.00", reason=None), 422, "reason_required")
    refused(rebate(lender, good["id"], "10.00", as_=lender["officer"]), 403, "forbidden")
    refused(rebate(lender, good["id"], "100.01"), 409, "rebate_exceeds_interest_paid")
    done = rebate(lender, good["id"], "50.00")
    assert done.status_code == 201, done.text
    assert done.json()["transaction"]["kind"] == "rebate" and done.json()["loan"]["figures"]["overpaid"] == "50.00"
    assert (balance(api, lender["4100"]), balance(api, lender["2100"])) == ("-50.00", "-50.00")
    cash = rebate(lender, good["id"], "20.00", day="2024-03-02", to="cash")
    assert cash.status_code == 201 and balance(api, lender["1100"]) == "983380.22"  # 980,000 + 3,400.22 - 20
    refused(rebate(lender, good["id"], "30.01", day="2024-03-03"), 409, "rebate_exceeds_interest_paid")
    assert refund(lender, good["id"], "50.00", day="2024-03-03").status_code == 201  # the rebate is refundable
    # Close of business does not accrue the rebate back: income is 100.00 - 70.00 + what is accrued.
    cob(api, "2024-03-03")
    income = -int(balance(api, lender["4100"]).replace(".", ""))
    receivable = int(balance(api, lender["1210"]).replace(".", ""))
    assert income == 100_00 - 70_00 + receivable


def test_a_rate_change_for_loans_meeting_the_rule(api, lender):  # noqa: F811
    good, late, in_court = (approved_loan(lender) for _ in range(3))
    for loan in (good, late, in_court):
        disburse(lender, loan["id"])
    for loan in (good, in_court):
        repay(lender, loan["id"], "3400.22", "2024-02-29")
    refused(lender["officer"].post(f"/v1/loans/{in_court['id']}/litigation", {"in_litigation": True}), 422,
            "reason_required")  # fmt: skip
    marked = lender["officer"].post(f"/v1/loans/{in_court['id']}/litigation",
                                    {"in_litigation": True, "reason": "case 123/2567 at the provincial court",
                                     "effective_date": "2024-02-15"})  # fmt: skip
    assert marked.status_code == 200 and marked.json()["in_litigation"] is True
    body = {"effective_on": "2024-03-01", "rate_annual_percent": "6", "max_days_past_due": 0,
            "reason": "board resolution: a lower rate for borrowers in good standing"}  # fmt: skip
    refused(lender["officer"].post(f"/v1/loan-products/{lender['product_id']}/rate-changes", body), 403, "forbidden")
    refused(lender["approver"].post(f"/v1/loan-products/{lender['product_id']}/rate-changes",
                                    {**body, "reason": None}), 422, "reason_required")  # fmt: skip
    changed = lender["approver"].post(f"/v1/loan-products/{lender['product_id']}/rate-changes", body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["changed"] == [good["id"]]
    assert changed.json()["skipped"] == {str(late["id"]): "in_arrears", str(in_court["id"]): "in_litigation"}
    # The good loan's 6,699.78 still to fall due runs at 0.5 % a month from 29 February:
    # 669,978 x 0.005 / (1 - 1.005^-2) = 337,503.5 satang a month -> 3,375.04; the first period
    # charges 6,699.78 x 0.5 % x 31/29 = 35.81.
    plan = api.get(f"/v1/loans/{good['id']}/schedule").json()["instalments"]
    assert [(i["due_on"], i["interest"], i["total"]) for i in plan][:2] == [
        ("2024-02-29", "100.00", "3400.22"), ("2024-03-31", "35.81", "3375.04")]  # fmt: skip
    for other in (late, in_court):
        assert [i["interest"] for i in api.get(f"/v1/loans/{other['id']}/schedule").json()["instalments"]] == [
            "100.00", "67.00", "33.67"]  # fmt: skip
    actions = [r["action"] for r in api.get("/v1/audit", limit=500).json()["data"]]
    assert "loan-product.rate-change" in actions and "loan.litigation" in actions


# --- backdated repayments ----------------------------------------------------------------------


def take_back(bank, loan_id, transaction_id, reason="the cheque bounced", key=None):
    body = {"reason": reason} if reason is not None else {}
    path = f"/v1/loans/{loan_id}/repayments/{transaction_id}/reversal"
    return bank["officer"].post(path, body, key or f"u-{loan_id}-{transaction_id}-{reason}")


def test_a_repayment_taken_back_reallocates_later_ones_and_reopens_a_closed_loan(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    account = disburse(lender, loan["id"]).json()["loan"]["receivable_account_id"]
    early = repay(lender, loan["id"], "500.00", "2024-02-29").json()["transaction"]
    repay(lender, loan["id"], "3400.22", "2024-03-05")
    refused(take_back(lender, loan["id"], early["id"], reason=None), 422, "reason_required")
    refused(take_back(lender, loan["id"], 999_999), 404, "not_found")
    # Without the 500.00 of 29 February, the 3,400.22 of 5 March pays the first instalment's
    # 100.00 interest and 3,300.22 principal: 6,699.78 outstanding, nothing overpaid.
    done = take_back(lender, loan["id"], early["id"])
    assert done.status_code == 201, done.text
    assert done.json()["transaction"]["id"] == early["id"]
    figures = done.json()["loan"]["figures"]
    assert (figures["principal_outstanding"], figures["overpaid"]) == ("6699.78", "0.00")
    lines = api.get(f"/v1/loans/{loan['id']}/statement").json()["lines"]
    assert [(line["effective_date"], line["amount"], line["interest"], line["principal"]) for line in lines] == [
        ("2024-01-31", "10000.00", "0.00", "10000.00"), ("2024-03-05", "3400.22", "100.00", "3300.22"),
    ]  # fmt: skip
    assert api.get(f"/v1/entries/{early['entry_id']}").json()["reversed_by_entry_id"] is not None
    assert balance(api, account) == "6699.78" and balance(api, lender["2100"]) == "0.00"
    assert balance(api, lender["1100"]) == "993400.22"  # 990,000 + 3,400.22
    audit = [r for r in api.get("/v1/audit", limit=500).json()["data"] if r["action"] == "loan.repayment-undo"]
    assert [len(r["entry_ids"]) for r in audit if r["outcome"] == "ok"] == [3]  # undo, reversal, re-posting
    refused(take_back(lender, loan["id"], early["id"], key="again"), 404, "not_found")  # taken back once
    # A repayment that closed the loan (on the last due date), taken back: the loan opens again.
    last = repay(lender, loan["id"], "7000.00", "2024-04-30").json()
    assert last["loan"]["status"] == "closed"
    reopened = take_back(lender, loan["id"], last["transaction"]["id"]).json()["loan"]
    assert (reopened["status"], reopened["figures"]["principal_outstanding"]) == ("active", "6699.78")
    # Other money moved after it (a refund) would have to be undone too: refused, nothing written.
    paid = repay(lender, loan["id"], "7000.00", "2024-05-01").json()["transaction"]
    refund(lender, loan["id"], "1.00", day="2024-05-02")
    refused(take_back(lender, loan["id"], paid["id"]), 409, "date_before_last_transaction")
    assert balance(api, account) == "0.00"


def test_a_backdated_repayment_reallocates_later_ones_by_reversal(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    account = disburse(lender, loan["id"]).json()["loan"]["receivable_account_id"]
    late = repay(lender, loan["id"], "3400.22", "2024-03-05").json()["transaction"]
    # Paid on 5 March: 100.00 interest, 3,300.22 principal. A repayment of 500.00 dated 29
    # February comes in later: it pays the first instalment's interest and 400.00 of principal,
    # and the 5 March repayment is reversed and posted again: 2,900.22 principal due, and 500.00
    # beyond it is an advance: the 10.81 interest the second period earned in its first 5 of 31
    # days (67.00 x 5 / 31) and 489.19 principal, the term reduced (the product's choice).
    done = repay(lender, loan["id"], "500.00", "2024-02-29")
    assert done.status_code == 201, done.text
    tx = done.json()["transaction"]
    assert (tx["interest"], tx["principal"]) == ("100.00", "400.00")
    lines = api.get(f"/v1/loans/{loan['id']}/statement").json()["lines"]
    assert [(line["effective_date"], line["amount"], line["principal"], line["overpayment"]) for line in lines] == [
        ("2024-01-31", "10000.00", "10000.00", "0.00"), ("2024-02-29", "500.00", "400.00", "0.00"),
        ("2024-03-05", "3400.22", "3389.41", "0.00"),
    ]  # fmt: skip
    original = api.get(f"/v1/entries/{late['entry_id']}").json()
    assert original["reversed_by_entry_id"] is not None  # never edited: reversed, and posted again
    assert balance(api, account) == "6210.59" and balance(api, lender["2100"]) == "0.00"
    assert balance(api, lender["1100"]) == "993900.22"  # 990,000 + 500 + 3,400.22
    figures = api.get(f"/v1/loans/{loan['id']}").json()["figures"]
    assert (figures["principal_outstanding"], figures["overpaid"]) == ("6210.59", "0.00")
    tb = api.get(f"/v1/books/{lender['book_id']}/trial-balance").json()
    assert tb["total_debit"] == tb["total_credit"]
    audit = [r for r in api.get("/v1/audit", limit=500).json()["data"] if r["action"] == "loan.repay"][-1]
    assert len(audit["entry_ids"]) == 3  # the new repayment, the reversal, the re-posting
    # Other money moved after the date (a rebate) is not re-allocated: refused.
    assert rebate(lender, loan["id"], "1.00", day="2024-03-06", to="cash").status_code == 201
    refused(repay(lender, loan["id"], "1.00", "2024-03-01"), 409, "date_before_last_transaction")
    # Only within open periods.
    repay(lender, loan["id"], "10.00", "2024-04-02")
    api.post(f"/v1/books/{lender['book_id']}/periods/close", {"period": "2024-03"})
    refused(repay(lender, loan["id"], "1.00", "2024-03-31"), 409, "period_closed")
    assert repay(lender, loan["id"], "1.00", "2024-04-01").status_code == 201


# --- what close of business reads --------------------------------------------------------------


def test_close_of_business_reads_the_instalments_paid_in_full_as_one(api, db, penalised):
    plain, fined = (approved_loan(penalised, term_instalments=6, **which)["id"]
                    for which in ({}, {"product_id": penalised["penalty_product_id"]}))  # fmt: skip
    day = date(2024, 4, 15)
    for loan_id in (plain, fined):
        assert disburse(penalised, loan_id).status_code == 201
        with db.read() as c:
            plan, _ = loans.plans_of(c, [loan_id], None)[loan_id]
        for instalment in plan.instalments[:2]:  # the first two, on their due dates
            paid = repay(penalised, loan_id, format_amount(instalment.total_satang), instalment.due_on.isoformat())
            assert paid.status_code == 201, paid.text
    with db.read() as c:
        cut = loans.plans_through_next_due(c, [plain, fined], day, merge_settled=False).plans
        due = loans.plans_through_next_due(c, [plain, fined], day)
    merged = due.plans
    first, second, _ = cut[plain][0].instalments  # paid on 29 February and 31 March; the next due
    assert [i.number for i in merged[plain][0].instalments] == [2, 3]
    head = merged[plain][0].instalments[0]
    assert (head.due_on, head.principal_satang, head.interest_satang, head.interest_accrued_satang) == (
        second.due_on, first.principal_satang + second.principal_satang, first.interest_satang + second.interest_satang,
        first.interest_accrued_satang + second.interest_accrued_satang)  # fmt: skip
    paid = first.total_satang + second.total_satang
    # what each loan paid of instalments is read with the schedules, merged or not
    assert due.paid == {plain: paid, fined: sum(i.total_satang for i in cut[fined][0].instalments[:2])}
    assert merged[plain] == (settled_merged(cut[plain][0], paid, day), cut[plain][1])
    assert merged[fined] == cut[fined]  # penalties read every instalment's history
