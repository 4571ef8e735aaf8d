"""Charge-off and its undo, and undoing a write-off, through the real app (`ledger.charge_off`):
the postings, close of business accruing nothing on a charged-off loan, repayments still
collecting, the portfolio's class and PAR, each undo restoring the books exactly, the reasons,
the roles and the audit trail."""

from datetime import date

from store import dashboard, loans
from tests.conftest import NO_KEY
from tests.test_api_loan_events import cob, recover, write_off
from tests.test_api_loans import (  # noqa: F401  (lender is a fixture)
    approved_loan,
    balance,
    disburse,
    lender,
    refused,
    repay,
)


def charge_off(bank, loan_id, day="2024-03-10", reason="prolonged_arrears", note=None, key=None, as_=None):
    body = {"effective_date": day, "reason": reason, **({"note": note} if note is not None else {})}
    who = as_ or bank["approver"]
    return who.post(f"/v1/loans/{loan_id}/charge-off", body, key or f"co-{loan_id}-{day}-{reason}-{note}")


def undo(bank, loan_id, what, reason="recorded on the wrong loan", key=None, as_=None):
    body = {"reason": reason} if reason is not None else {}
    who = as_ or bank["approver"]
    return who.post(f"/v1/loans/{loan_id}/{what}-undo", body, key or f"u-{what}-{loan_id}-{reason}")


def books_of(api, bank) -> dict:
    return api.get(f"/v1/books/{bank['book_id']}/trial-balance").json()


def test_a_charge_off_recognises_the_loss_and_keeps_the_debt_collectable(api, db, lender):  # noqa: F811
    loan = approved_loan(lender)
    account = disburse(lender, loan["id"]).json()["loan"]["receivable_account_id"]
    cob(api, "2024-03-10")  # accrues 123.77 of interest (29 February to 10 March: see test_api_loan_events)
    done = charge_off(lender, loan["id"])
    assert done.status_code == 201, done.text
    record, after = done.json()["charge_off"], done.json()["loan"]
    assert (record["reason"], record["principal"], record["effective_date"]) == ("prolonged_arrears", "10000.00",
                                                                                 "2024-03-10")  # fmt: skip
    assert (after["status"], after["charged_off_on"], after["charge_off_reason"], after["accruing"]) == (
        "active", "2024-03-10", "prolonged_arrears", False)  # fmt: skip
    # The loss goes into the allowance; the loan's receivable still holds what the borrower owes.
    assert (balance(api, lender["5200"]), balance(api, lender["1290"])) == ("10000.00", "-10000.00")
    assert balance(api, account) == after["figures"]["principal_outstanding"] == "10000.00"
    # Close of business reverses what was accrued and not received, and accrues nothing more.
    report = cob(api, "2024-03-20")
    assert (report["accrued_interest"], report["reversed_interest"], report["non_performing"]) == ("0.00", "123.77", 1)
    assert balance(api, lender["1210"]) == "0.00" and balance(api, lender["4100"]) == "0.00"
    assert cob(api, "2024-04-20")["accrued_interest"] == "0.00"
    # Repayments still collect: the interest paid is income at once, the principal credits the receivable.
    paid = repay(lender, loan["id"], "200.00", "2024-04-20").json()
    assert (paid["transaction"]["interest"], paid["transaction"]["principal"]) == ("167.00", "33.00")
    assert (balance(api, lender["4100"]), balance(api, account)) == ("-167.00", "9967.00")
    # In the portfolio it is off the performing book: class charged_off, at risk whatever its days past due.
    book = api.get("/v1/portfolio", as_of="2024-04-20").json()
    charged_off = {"key": "charged_off", "name_th": None, "name_en": None, "count": 1, "outstanding": "9967.00"}
    assert book["groups"]["class"] == [charged_off]
    assert (book["par30_percent"], book["par90_percent"], book["charged_off_outstanding"]) == ("100.00", "100.00",
                                                                                                "9967.00")  # fmt: skip
    assert api.get("/v1/portfolio", as_of="2024-03-09").json()["groups"]["class"][0]["key"] == "pass"
    # The dashboard reads what close of business on 20 April kept, before that day's repayment.
    with db.read() as connection:
        closed = dashboard.portfolio_as_closed(connection, date(2024, 4, 20))
        [month] = dashboard.at_risk_by_month(connection, date(2024, 4, 1), date(2024, 4, 1))
    assert (closed.charged_off_satang, closed.over_90_satang, closed.groups["class"]["charged_off"].count) == (
        1_000_000, 1_000_000, 1)  # fmt: skip
    assert (month.over_30_satang, month.par90_percent) == (1_000_000, 100)


def test_undoing_a_charge_off_restores_the_books_exactly(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    cob(api, "2024-03-10")
    before, figures = books_of(api, lender), api.get(f"/v1/loans/{loan['id']}").json()
    assert charge_off(lender, loan["id"], reason="other", note="flood in the district").status_code == 201
    done = undo(lender, loan["id"], "charge-off")
    assert done.status_code == 200, done.text
    assert (done.json()["charged_off_on"], done.json()["charge_off_reason"], done.json()["accruing"]) == (
        None, None, True)  # fmt: skip
    assert books_of(api, lender) == before
    assert api.get(f"/v1/loans/{loan['id']}").json() == figures
    refused(undo(lender, loan["id"], "charge-off", key="again"), 409, "loan_not_charged_off")
    # Charged off again, through a close of business, then undone: the next close of business
    # accrues again all that the schedule has earned, as if it had never been charged off.
    assert charge_off(lender, loan["id"], day="2024-03-11").status_code == 201
    assert cob(api, "2024-03-15")["reversed_interest"] == "123.77"
    assert undo(lender, loan["id"], "charge-off", reason="the group paid up its arrears").status_code == 200
    assert cob(api, "2024-03-20")["accrued_interest"] == "145.39"  # 100.00 + 67.00 x 21/31
    assert balance(api, lender["1210"]) == "145.39" and balance(api, lender["5200"]) == "0.00"


def test_a_write_off_after_a_charge_off_uses_its_allowance_and_is_undone_exactly(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    account = disburse(lender, loan["id"]).json()["loan"]["receivable_account_id"]
    assert charge_off(lender, loan["id"], day="2024-02-10").status_code == 201
    before = books_of(api, lender)
    assert write_off(lender, loan["id"], day="2024-03-10").status_code == 201
    # The charge-off's allowance pays for the write-off: no second loss.
    assert (balance(api, lender["5200"]), balance(api, lender["1290"]), balance(api, account)) == (
        "10000.00", "0.00", "0.00")  # fmt: skip
    refused(undo(lender, loan["id"], "charge-off"), 409, "loan_written_off")
    done = undo(lender, loan["id"], "write-off")
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["charged_off_on"]) == ("active", "2024-02-10")
    assert books_of(api, lender) == before
    statement = api.get(f"/v1/loans/{loan['id']}/statement").json()
    assert [line["kind"] for line in statement["lines"]] == ["disbursement"]
    assert statement["principal_outstanding"] == "10000.00"
    # Written off again and partly recovered: the recovery stands on the write-off, which is kept.
    assert write_off(lender, loan["id"], day="2024-03-11", key="w-again").status_code == 201
    assert recover(lender, loan["id"], "10.00").status_code == 201
    refused(undo(lender, loan["id"], "write-off", key="u-after-recovery"), 409, "later_transactions_exist")


def test_charge_offs_and_undos_refused(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    refused(charge_off(lender, loan["id"]), 409, "loan_not_disbursed")
    disburse(lender, loan["id"])
    refused(charge_off(lender, loan["id"], as_=lender["officer"]), 403, "forbidden")
    refused(charge_off(lender, loan["id"], reason="bad_luck"), 422, "invalid_request")
    refused(charge_off(lender, loan["id"], reason="other"), 422, "reason_required")
    refused(charge_off(lender, loan["id"], reason="other", note="  "), 422, "reason_required")
    refused(charge_off(lender, loan["id"], day="2024-06-15"), 422, "date_in_future")
    refused(charge_off(lender, loan["id"], day="2024-01-30"), 409, "date_before_last_transaction")
    refused(undo(lender, loan["id"], "charge-off"), 409, "loan_not_charged_off")
    refused(undo(lender, loan["id"], "write-off"), 409, "loan_not_written_off")
    refused(undo(lender, loan["id"], "write-off", reason=None, key="no-reason"), 422, "reason_required")
    refused(undo(lender, loan["id"], "charge-off", as_=lender["officer"]), 403, "forbidden")
    body = {"effective_date": "2024-03-10", "reason": "fraud"}
    keyless = lender["approver"].post(f"/v1/loans/{loan['id']}/charge-off", body, NO_KEY)
    refused(keyless, 422, "idempotency_key_required")
    once = charge_off(lender, loan["id"], key="co-once")
    assert charge_off(lender, loan["id"], key="co-once").json() == once.json()  # replayed, one effect
    refused(charge_off(lender, loan["id"], key="co-twice"), 409, "loan_charged_off")
    assert balance(api, lender["5200"]) == "10000.00"
    actions = [(r["action"], r["outcome"]) for r in api.get("/v1/audit", limit=500).json()["data"]]
    assert ("loan.charge-off", "ok") in actions and ("loan.charge-off", "refused: loan_charged_off") in actions
    assert ("loan.write-off-undo", "refused: loan_not_written_off") in actions


# --- rate changes as CODI makes them: a trial with an end, eligibility on the day it starts -----


def rate_change(bank, **changes):
    body = {"effective_on": "2024-03-01", "rate_annual_percent": "6", "max_days_past_due": 90,
            "reason": "a one-year trial for borrowers in good standing", **changes}  # fmt: skip
    return bank["approver"].post(f"/v1/loan-products/{bank['product_id']}/rate-changes", body)


def litigation(bank, loan_id, in_litigation: bool, day: str):
    body = {"in_litigation": in_litigation, "reason": "case 123/2567", "effective_date": day}
    answer = bank["officer"].post(f"/v1/loans/{loan_id}/litigation", body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_trial_rate_ends_and_eligibility_is_judged_on_its_first_day(api, db, lender):  # noqa: F811
    trial, sued_later, sued_before, settled_before = (approved_loan(lender) for _ in range(4))
    for loan in (trial, sued_later, sued_before, settled_before):
        disburse(lender, loan["id"])
    # In court from 20 March: after the change starts, so still eligible on 1 March.
    assert litigation(lender, sued_later["id"], True, "2024-03-20")["in_litigation"] is True
    # In court from 15 February: left out. Taken to court and settled before 1 March: eligible.
    litigation(lender, sued_before["id"], True, "2024-02-15")
    litigation(lender, settled_before["id"], True, "2024-02-10")
    assert litigation(lender, settled_before["id"], False, "2024-02-20")["in_litigation"] is False
    refused(rate_change(lender, ends_on="2024-03-01"), 422, "invalid_date_range")
    refused(lender["officer"].post(f"/v1/loans/{trial['id']}/litigation",
                                   {"in_litigation": True, "reason": "x", "effective_date": "2024-06-15"}),
            422, "date_in_future")  # fmt: skip
    done = rate_change(lender, ends_on="2024-03-31")
    assert done.status_code == 200, done.text
    assert (done.json()["ends_on"], done.json()["skipped"]) == ("2024-03-31", {str(sued_before["id"]): "in_litigation"})
    assert sorted(done.json()["changed"]) == sorted([trial["id"], sued_later["id"], settled_before["id"]])
    # 6,699.78 from 29 February at 6 %: 3,375.04 a month, the first period 35.81 (see
    # test_api_loan_events). From 31 March the 12 % returns: the last period charges 1 % of the
    # 3,360.55 left (669,978 - (337,504 - 3,581) = 336,055 satang): 33.61, and the last
    # instalment takes the difference, 3,360.55 + 33.61 = 3,394.16.
    plan = api.get(f"/v1/loans/{trial['id']}/schedule").json()["instalments"]
    assert [(i["due_on"], i["interest"], i["total"]) for i in plan] == [
        ("2024-02-29", "100.00", "3400.22"), ("2024-03-31", "35.81", "3375.04"),
        ("2024-04-30", "33.61", "3394.16")]  # fmt: skip
    with db.read() as connection:
        assert loans.schedule_versions(connection, trial["id"])[-1]["reason"].startswith("reschedule: rate change:")
    audit = [(r["action"], r["outcome"]) for r in api.get("/v1/audit", limit=500).json()["data"]]
    assert audit.count(("loan.litigation", "ok")) == 4

