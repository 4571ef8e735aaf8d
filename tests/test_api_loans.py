"""Loans through the real app: a loan's whole life with hand-checked figures that must equal the
ledger's balances, tranches, close of business, the portfolio, every bad-input reason, the
roles, the command line, and the database's own guards on the loan tables."""

import csv
import io
import threading
from datetime import date, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from api.cli import main
from store import loan_cob, loans
from tests.conftest import NO_KEY, NOW, ON_POSTGRES, make_user

LOAN_TABLES = {"loan_product", "loan_product_rate", "loan", "loan_schedule", "loan_instalment", "loan_transaction",
               "loan_repayment_reversal"}


@pytest.fixture
def lender(api, db, fund) -> dict:
    """The fund with cash, an officer and an approver, and a product: 12 % a year over three
    months, the doctest loan of `ledger.loans` (10,000.00 baht disbursed on 31 January 2024 is
    repaid 3,400.22 on 29 February, 3,400.22 on 31 March and 3,400.23 on 30 April)."""
    cash = api.entry(fund["book_id"], [(fund["1100"], "1000000.00"), (fund["3100"], "-1000000.00")], day="2024-01-02")
    assert cash.status_code == 201, cash.text
    product = api.post("/v1/loan-products", product_body(fund))
    assert product.status_code == 201, product.text
    officer = api.as_(make_user(db, "officer-1", "officer"))
    approver = api.as_(make_user(db, "approver-1", "approver"))
    return {**fund, "product_id": product.json()["id"], "officer": officer, "approver": approver}


def product_body(fund: dict, **changes) -> dict:
    return {"book_id": fund["book_id"], "code": "LIVELIHOOD-12", "name_th": "สินเชื่อเพื่อการพัฒนาอาชีพ",
            "rate_annual_percent": "12", "term_instalments": 3, **changes}  # fmt: skip


def application(lender: dict, **changes) -> dict:
    guarantor = {"name": "นายสมชาย ใจดี", "relationship": "chair"}
    return {"product_id": lender["product_id"], "borrower_party_id": lender["borrower_id"], "amount": "10000.00",
            "savings": "1000.00", "guarantors": [guarantor], **changes}  # fmt: skip


def approved_loan(lender: dict, **changes) -> dict:
    loan = lender["officer"].post("/v1/loans", application(lender, **changes))
    assert loan.status_code == 201, loan.text
    approval = lender["approver"].post(f"/v1/loans/{loan.json()['id']}/approval", {})
    assert approval.status_code == 200, approval.text
    return approval.json()


def disburse(lender, loan_id, amount="10000.00", day="2024-01-31", key=None):
    body = {"amount": amount, "effective_date": day}
    return lender["officer"].post(f"/v1/loans/{loan_id}/disbursements", body, key or f"d-{loan_id}-{day}-{amount}")


def repay(lender, loan_id, amount, day, key=None):
    body = {"amount": amount, "effective_date": day}
    return lender["officer"].post(f"/v1/loans/{loan_id}/repayments", body, key or f"r-{loan_id}-{day}-{amount}")


def balance(api, account_id) -> str:
    return api.get(f"/v1/accounts/{account_id}").json()["balance"]


def refused(response, status: int, reason: str) -> None:
    assert (response.status_code, response.json()["reason"]) == (status, reason), response.text
    assert response.headers["content-type"] == "application/problem+json"


# --- the life of a loan ------------------------------------------------------------------------


def test_a_loan_from_application_to_closure(api, lender):
    loan = approved_loan(lender)
    assert loan["status"] == "approved" and loan["guarantors"][0]["relationship"] == "chair"
    paid_out = disburse(lender, loan["id"])
    assert paid_out.status_code == 201, paid_out.text
    account = paid_out.json()["loan"]["receivable_account_id"]
    assert api.get(f"/v1/accounts/{account}").json()["party_id"] == lender["borrower_id"]
    assert (balance(api, account), balance(api, lender["1100"])) == ("10000.00", "990000.00")
    schedule = api.get(f"/v1/loans/{loan['id']}/schedule").json()
    assert [(i["due_on"], i["principal"], i["interest"]) for i in schedule["instalments"]] == [
        ("2024-02-29", "3300.22", "100.00"), ("2024-03-31", "3333.22", "67.00"), ("2024-04-30", "3366.56", "33.67"),
    ]  # fmt: skip

    # Close of business on 14 February: 15 of the first period's 29 days earn 100.00 x 15/29 = 51.72.
    first = api.post("/v1/close-of-business", {"date": "2024-02-14"})
    assert first.json()["accrued_interest"] == "51.72" and first.json()["loans_processed"] == 1
    ledger_before = api.get(f"/v1/books/{lender['book_id']}/trial-balance").json()
    again = api.post("/v1/close-of-business", {"date": "2024-02-14"})
    assert again.status_code == 200 and again.json()["loans_processed"] == 0 and again.json()["entry_ids"] == []
    assert api.get(f"/v1/books/{lender['book_id']}/trial-balance").json() == ledger_before
    assert (balance(api, lender["1210"]), balance(api, lender["4100"])) == ("51.72", "-51.72")

    # The first instalment: 100.00 interest (51.72 of it accrued), 3,300.22 principal.
    first_payment = repay(lender, loan["id"], "3400.22", "2024-02-29").json()["transaction"]
    assert (first_payment["interest"], first_payment["interest_from_receivable"], first_payment["principal"]) == (
        "100.00", "51.72", "3300.22")  # fmt: skip
    assert (balance(api, lender["1210"]), balance(api, lender["4100"])) == ("0.00", "-100.00")
    assert repay(lender, loan["id"], "3400.22", "2024-03-31").status_code == 201
    # The last instalment is 3,400.23; 99.77 more is an overpayment, a liability to the group.
    last = repay(lender, loan["id"], "3500.00", "2024-04-30").json()
    assert last["transaction"]["overpayment"] == "99.77" and last["transaction"]["principal"] == "3366.56"
    assert last["loan"]["status"] == "closed" and last["loan"]["closed_on"] == "2024-04-30"
    figures = api.get(f"/v1/loans/{loan['id']}").json()["figures"]
    assert (figures["principal_outstanding"], figures["total_due"], figures["overpaid"]) == ("0.00", "0.00", "99.77")
    assert (balance(api, account), balance(api, lender["2100"]), balance(api, lender["4100"])) == (
        "0.00", "-99.77", "-200.67")  # fmt: skip
    assert balance(api, lender["1100"]) == "1000300.44"  # 990,000 + 10,000 + 200.67 interest + 99.77 over
    statement = api.get(f"/v1/loans/{loan['id']}/statement").json()
    assert [(line["kind"], line["principal_outstanding"]) for line in statement["lines"]] == [
        ("disbursement", "10000.00"), ("accrual", "10000.00"), ("repayment", "6699.78"),
        ("repayment", "3366.56"), ("repayment", "0.00"),
    ]  # fmt: skip
    refused(repay(lender, loan["id"], "1.00", "2024-05-02"), 409, "loan_closed")


def test_figures_are_those_of_the_ledger(api, lender):
    """Principal outstanding is the loan's sub-account balance; interest receivable is what
    close of business accrued less what was paid of it; arrears age the loan."""
    loan = approved_loan(lender)
    account = disburse(lender, loan["id"]).json()["loan"]["receivable_account_id"]
    api.post("/v1/close-of-business", {"date": "2024-03-10"})
    repay(lender, loan["id"], "1000.00", "2024-03-10")
    figures = api.get(f"/v1/loans/{loan['id']}", as_of="2024-03-10").json()["figures"]
    assert figures["principal_outstanding"] == balance(api, account) == "9100.00"
    # Accrued through 10 March: 100.00, and 67.00 x 11/31 days = 23.77 of March's; 100.00 was paid.
    assert figures["interest_receivable"] == balance(api, lender["1210"]) == "23.77"
    assert (figures["principal_due"], figures["interest_due"]) == ("2400.22", "0.00")
    assert (figures["days_past_due"], figures["loan_class"], figures["next_due_on"]) == (10, "pass", "2024-03-31")
    on_the_day = api.get(f"/v1/loans/{loan['id']}", as_of="2024-06-14").json()["figures"]
    assert (on_the_day["days_past_due"], on_the_day["loan_class"], on_the_day["ageing_bucket"]) == (
        106, "substandard", "91-180")  # fmt: skip


def test_the_loan_says_what_is_late_beside_what_is_due_today(api, lender):
    """On an instalment's due date it is due but not late; the day after, it is past due."""
    loan = approved_loan(lender)
    disburse(lender, loan["id"])

    def figures(day: str) -> tuple[str, ...]:
        f = api.get(f"/v1/loans/{loan['id']}", as_of=day).json()["figures"]
        return f["principal_due"], f["interest_due"], f["total_due"], f["principal_past_due"], f["total_past_due"]

    assert figures("2024-02-28") == ("0.00", "0.00", "0.00", "0.00", "0.00")
    assert figures("2024-02-29") == ("3300.22", "100.00", "3400.22", "0.00", "0.00")  # due today, not late
    assert figures("2024-03-01") == ("3300.22", "100.00", "3400.22", "3300.22", "3400.22")
    repay(lender, loan["id"], "1000.00", "2024-03-31")  # on the second's due date, paying part of the first
    f = api.get(f"/v1/loans/{loan['id']}", as_of="2024-03-31").json()["figures"]
    # Due: both instalments (6,800.44) less 1,000.00, which paid their interest (167.00) first and
    # 833.00 of principal; late: the first's principal 3,300.22 less 833.00, its interest paid.
    assert (f["total_due"], f["principal_past_due"], f["interest_past_due"], f["total_past_due"]) == (
        "5800.44", "2467.22", "0.00", "2467.22")  # fmt: skip


def test_the_schedule_shows_the_principal_outstanding_after_each_instalment(api, lender):
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    schedule = api.get(f"/v1/loans/{loan['id']}/schedule").json()
    assert [i["outstanding_after"] for i in schedule["instalments"]] == ["6699.78", "3366.56", "0.00"]
    rows = list(csv.reader(io.StringIO(api.get(f"/v1/loans/{loan['id']}/schedule", format="csv").text)))
    assert rows[0][-1] == "outstanding_after" and [row[-1] for row in rows[1:]] == ["6699.78", "3366.56", "0.00"]


def test_a_loan_disbursed_in_two_tranches(api, lender):
    loan = approved_loan(lender, amount="20000.00", savings="2000.00")
    first = disburse(lender, loan["id"], "12000.00", "2024-01-31")
    assert first.json()["loan"]["figures"]["undisbursed"] == "8000.00"
    second = disburse(lender, loan["id"], "8000.00", "2024-02-10")
    assert second.status_code == 201, second.text
    schedule = api.get(f"/v1/loans/{loan['id']}/schedule").json()
    assert schedule["amount"] == schedule["total_principal"] == "20000.00"
    assert [i["due_on"] for i in schedule["instalments"]] == ["2024-02-29", "2024-03-31", "2024-04-30"]
    # The first tranche keeps its interest, 120.00 for February; the second is charged from
    # 10 February: 8,000.00 x 1 % x 19/29 days = 52.41.
    assert schedule["instalments"][0]["interest"] == "172.41"
    before = api.get(f"/v1/loans/{loan['id']}/schedule", as_of="2024-02-09").json()
    assert before["amount"] == before["total_principal"] == "12000.00"  # the earlier version is kept
    refused(disburse(lender, loan["id"], "1.00", "2024-02-12"), 409, "loan_fully_disbursed")
    other = approved_loan(lender)
    disburse(lender, other["id"], "6000.00")
    refused(disburse(lender, other["id"], "4000.01", "2024-02-01"), 409, "disbursement_exceeds_amount")
    refused(disburse(lender, other["id"], "1.00", "2024-05-01"), 409, "loan_matured")


def test_a_repeated_disbursement_with_its_key_has_one_effect(api, lender):
    loan = approved_loan(lender)
    first = disburse(lender, loan["id"], "4000.00", key="tranche-1")
    again = disburse(lender, loan["id"], "4000.00", key="tranche-1")
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert balance(api, lender["1100"]) == "996000.00"
    unkeyed = {"amount": "1.00", "effective_date": "2024-02-01"}
    disbursements = f"/v1/loans/{loan['id']}/disbursements"
    refused(lender["officer"].post(disbursements, unkeyed, NO_KEY), 422, "idempotency_key_required")


def test_a_loan_over_90_days_past_due_stops_accruing(api, lender):
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    assert api.post("/v1/close-of-business", {"date": "2024-05-29"}).json()["accrued_interest"] == "200.67"
    assert balance(api, lender["1210"]) == "200.67"  # all three instalments' interest, nothing paid
    # 30 May is 91 days after the unpaid 29 February: non-performing, accrued interest reversed.
    closed = api.post("/v1/close-of-business", {"date": "2024-05-30"}).json()
    assert (closed["loans_reversed"], closed["reversed_interest"], closed["non_performing"]) == (1, "200.67", 1)
    assert (balance(api, lender["1210"]), balance(api, lender["4100"])) == ("0.00", "0.00")
    shown = api.get(f"/v1/loans/{loan['id']}", as_of="2024-05-30").json()
    assert shown["accruing"] is False and shown["figures"]["loan_class"] == "substandard"
    assert api.post("/v1/close-of-business", {"date": "2024-05-31"}).json()["accrued_interest"] == "0.00"
    # Interest it pays now goes straight to income.
    paid = repay(lender, loan["id"], "100.00", "2024-06-01").json()["transaction"]
    assert (paid["interest"], paid["interest_from_receivable"]) == ("100.00", "0.00")
    assert balance(api, lender["4100"]) == "-100.00"


def test_portfolio_by_class_bucket_province_and_product(api, lender, db):
    north = api.post("/v1/parties", {"kind": "savings_group", "name_th": "กลุ่มออมทรัพย์", "region": "north",
                                     "province": "Nakhon Sawan"}).json()  # fmt: skip
    late = approved_loan(lender)
    disburse(lender, late["id"], day="2024-01-31")
    current = approved_loan(lender, borrower_party_id=north["id"], amount="30000.00", savings="3000.00")
    disburse(lender, current["id"], "30000.00", day="2024-06-01")
    report = api.get("/v1/portfolio", as_of="2024-04-15").json()  # only the first loan was out by then
    assert (report["count"], report["gross_outstanding"], report["par30_percent"]) == (1, "10000.00", "100.00")
    report = api.get("/v1/portfolio", as_of="2024-06-14").json()
    assert (report["count"], report["gross_outstanding"]) == (2, "40000.00")
    assert (report["par30_outstanding"], report["par30_percent"]) == ("10000.00", "25.00")
    assert (report["par90_outstanding"], report["par90_percent"]) == ("10000.00", "25.00")
    groups = {name: {line["key"]: (line["count"], line["outstanding"]) for line in lines}
              for name, lines in report["groups"].items()}  # fmt: skip
    assert groups["class"] == {"pass": (1, "30000.00"), "substandard": (1, "10000.00")}
    assert groups["bucket"] == {"current": (1, "30000.00"), "91-180": (1, "10000.00")}
    assert groups["province"] == {"Nakhon Sawan": (1, "30000.00"), "unknown": (1, "10000.00")}
    assert groups["product"] == {"LIVELIHOOD-12": (2, "40000.00")}
    [product] = report["groups"]["product"]
    assert (product["name_th"], product["name_en"]) == ("สินเชื่อเพื่อการพัฒนาอาชีพ", None)
    assert {line["name_th"] for line in report["groups"]["class"]} == {None}  # a class is its own name
    coarse = api.get("/v1/portfolio", as_of="2024-06-14", buckets="1,181").json()["groups"]["bucket"]
    assert [(line["key"], line["count"]) for line in coarse] == [("1-180", 1), ("current", 1)]
    refused(api.get("/v1/portfolio", buckets="31,1"), 422, "invalid_ageing_buckets")


# --- bad input: a reason each, and nothing changes ---------------------------------------------


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [
        ({"rate_annual_percent": "150"}, 422, "rate_out_of_range"),
        ({"rate_annual_percent": "-1"}, 422, "malformed_rate"),
        ({"term_instalments": 0}, 422, "invalid_term"),
        ({"penalty_rate_annual_percent": "100.5"}, 422, "rate_out_of_range"),
        ({"grace_principal_periods": 3}, 422, "invalid_grace_periods"),
        ({"min_savings_percent": "101"}, 422, "rate_out_of_range"),
        ({"allocation_order": ["interest", "principal"]}, 422, "invalid_allocation_order"),
        ({"book_id": 999}, 404, "not_found"),
        ({"account_codes": {"cash": "9999"}}, 404, "not_found"),
        ({"code": "LIVELIHOOD-12"}, 409, "duplicate"),
        ({"interest_method": "compound"}, 422, "invalid_request"),
    ],
)
def test_bad_products_are_refused(api, lender, changes, status, reason):
    refused(api.post("/v1/loan-products", product_body(lender, **{"code": "OTHER", **changes})), status, reason)
    assert len(api.get("/v1/loan-products").json()["data"]) == 1


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [
        ({"product_id": 999}, 404, "not_found"),
        ({"borrower_party_id": 999}, 404, "not_found"),
        ({"amount": "0.00"}, 422, "amount_must_be_positive"),
        ({"amount": "-10.00"}, 422, "amount_must_be_positive"),
        ({"amount": "10.001"}, 422, "malformed_amount"),
        ({"savings": "999.99"}, 422, "insufficient_savings"),
        ({"term_instalments": 0}, 422, "invalid_term"),
        ({"first_repayment_on": "2023-01-01"}, 201, None),  # judged at disbursement: see below
    ],
)
def test_bad_applications_are_refused(lender, changes, status, reason):
    response = lender["officer"].post("/v1/loans", application(lender, **changes))
    assert response.status_code == status, response.text
    if reason:
        refused(response, status, reason)
        assert lender["officer"].get("/v1/loans").json()["data"] == []


def test_savings_below_the_share_need_a_reason(api, lender):
    loan = lender["officer"].post("/v1/loans", application(lender, savings="500.00",
                                                           savings_override_reason="network guarantee"))  # fmt: skip
    assert loan.status_code == 201 and loan.json()["savings_override_reason"] == "network guarantee"
    government = api.post("/v1/parties", {"kind": "local_authority", "name_th": "อบต."}).json()
    refused(lender["officer"].post("/v1/loans", application(lender, borrower_party_id=government["id"])),
            422, "ineligible_borrower")  # fmt: skip


def test_a_loan_refused_at_each_step_changes_nothing(api, lender):
    officer = lender["officer"]
    loan = officer.post("/v1/loans", application(lender)).json()
    refused(disburse(lender, loan["id"]), 409, "loan_not_approved")
    refused(repay(lender, loan["id"], "1.00", "2024-02-01"), 409, "loan_not_disbursed")
    refused(officer.post(f"/v1/loans/{loan['id']}/approval", {}), 403, "forbidden")  # officers do not approve
    own = api.post("/v1/loans", application(lender)).json()  # recorded by the admin ...
    refused(api.post(f"/v1/loans/{own['id']}/approval", {}), 403, "same_user_approval")  # ... who may not approve it
    lender["approver"].post(f"/v1/loans/{loan['id']}/approval", {})
    refused(lender["approver"].post(f"/v1/loans/{loan['id']}/approval", {}), 409, "loan_not_pending_approval")
    refused(disburse(lender, loan["id"], day="2024-06-15"), 422, "date_in_future")
    refused(disburse(lender, loan["id"], amount="0.00"), 422, "amount_must_be_positive")
    refused(disburse(lender, loan["id"], amount="10000.01"), 409, "disbursement_exceeds_amount")
    late_first = approved_loan(lender, first_repayment_on="2023-01-01")
    refused(disburse(lender, late_first["id"]), 422, "invalid_first_repayment_date")
    assert balance(api, lender["1100"]) == "1000000.00"
    assert api.get(f"/v1/loans/{loan['id']}").json()["status"] == "approved"
    disburse(lender, loan["id"], day="2024-01-31")
    repay(lender, loan["id"], "100.00", "2024-03-01")
    refused(repay(lender, loan["id"], "100.00", "2024-01-30"), 409, "date_before_last_transaction")  # before it
    refused(repay(lender, loan["id"], "-1.00", "2024-03-02"), 422, "amount_must_be_positive")
    refused(repay(lender, loan["id"], "100.00", "2024-06-15"), 422, "date_in_future")
    api.post(f"/v1/books/{lender['book_id']}/periods/close", {"period": "2024-03"})
    refused(repay(lender, loan["id"], "100.00", "2024-03-31"), 409, "period_closed")
    refused(api.post("/v1/close-of-business", {"date": "2024-03-31"}), 409, "period_closed")
    refused(api.post("/v1/close-of-business", {"date": "2024-06-15"}), 422, "date_in_future")
    shown = api.get(f"/v1/loans/{loan['id']}").json()
    assert shown["figures"]["principal_outstanding"] == "10000.00" and shown["cob_through"] is None
    assert len(api.get(f"/v1/loans/{loan['id']}/statement").json()["lines"]) == 2
    refused(api.get("/v1/loans/999"), 404, "not_found")


def test_no_loan_route_answers_500_for_junk(api, lender):
    for body in ({}, {"amount": 5}, {"product_id": "x"}, [], {"product_id": 1, "guarantors": [{}]}):
        assert lender["officer"].post("/v1/loans", body).status_code == 422
    assert api.post("/v1/close-of-business", {"day": "2024-01-01"}).status_code == 422
    assert api.post("/v1/loan-products", {"book_id": 1, "code": "X", "name_th": "x", "rate_annual_percent": "1",
                                          "term_instalments": True}).status_code == 422  # fmt: skip
    assert api.get("/v1/loans", status="lost").status_code == 422
    assert api.get("/v1/loans/1/schedule").status_code == 404


# --- roles ---------------------------------------------------------------------------------------


def test_an_enterprise_reads_only_its_own_loans(api, db, lender):
    other = api.post("/v1/parties", {"kind": "cooperative", "name_th": "สหกรณ์อื่น"}).json()
    mine, theirs = approved_loan(lender), approved_loan(lender, borrower_party_id=other["id"])
    disburse(lender, mine["id"])
    disburse(lender, theirs["id"])
    coop = api.as_(make_user(db, "coop", "enterprise", party_id=lender["borrower_id"]))
    assert [loan["id"] for loan in coop.get("/v1/loans").json()["data"]] == [mine["id"]]
    assert coop.get(f"/v1/loans/{mine['id']}").status_code == 200
    for path in ("", "/schedule", "/statement"):
        assert coop.get(f"/v1/loans/{mine['id']}{path}").status_code == 200
        refused(coop.get(f"/v1/loans/{theirs['id']}{path}"), 404, "not_found")
    refused(coop.get("/v1/portfolio"), 403, "forbidden")
    refused(coop.post("/v1/loans", application(lender)), 403, "forbidden")
    refused(coop.post(f"/v1/loans/{mine['id']}/repayments", {"amount": "1.00", "effective_date": "2024-03-01"}, "k"),
            403, "forbidden")  # fmt: skip


def test_auditors_read_and_write_nothing(api, db, lender):
    auditor = api.as_(make_user(db, "aud", "auditor"))
    loan = approved_loan(lender)
    assert auditor.get(f"/v1/loans/{loan['id']}").status_code == 200
    assert auditor.get("/v1/portfolio").status_code == 200
    refused(auditor.post("/v1/loans", application(lender)), 403, "forbidden")
    refused(auditor.post("/v1/loan-products", product_body(lender, code="X")), 403, "forbidden")
    refused(auditor.post(f"/v1/loans/{loan['id']}/approval", {}), 403, "forbidden")
    refused(auditor.post("/v1/close-of-business", {"date": "2024-02-01"}), 403, "forbidden")
    refused(lender["officer"].post("/v1/close-of-business", {"date": "2024-02-01"}), 403, "forbidden")
    refused(lender["approver"].post("/v1/loans", application(lender)), 403, "forbidden")


def test_reports_in_csv(api, lender):
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    repay(lender, loan["id"], "3400.22", "2024-02-29")
    schedule = api.get(f"/v1/loans/{loan['id']}/schedule", format="csv")
    assert schedule.headers["content-type"].startswith("text/csv")
    lines = schedule.text.splitlines()
    header = "number,due_on,principal,interest,total,principal_paid,interest_paid,unpaid,status,outstanding_after"
    assert lines[0] == "\ufeff" + header
    assert lines[1] == "1,2024-02-29,3300.22,100.00,3400.22,3300.22,100.00,0.00,paid,6699.78"
    statement = api.get(f"/v1/loans/{loan['id']}/statement", format="csv").text.splitlines()
    assert statement[-1].endswith("repayment,3400.22,3300.22,100.00,0.00,0.00,6699.78")


# --- the command line and the audit trail ------------------------------------------------------


def test_cob_from_the_command_line_is_audited(api, db, lender, monkeypatch, capsys):
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert main(["cob", "--date", "2024-02-14"]) == 0
    assert "1 accrued 51.72" in capsys.readouterr().out
    assert main(["cob", "--date", "2024-02-14"]) == 0
    assert "0 loans processed" in capsys.readouterr().out
    records = api.get("/v1/audit", limit=500).json()["data"]
    assert [r["actor"] for r in records if r["action"] == "loan.close-of-business"] == ["cli", "cli"]
    assert api.get("/v1/audit/verify").json()["ok"] is True
    assert balance(api, lender["1210"]) == "51.72"


def test_every_loan_write_is_audited(api, lender):
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    refused(disburse(lender, loan["id"], "1.00", "2024-02-01"), 409, "loan_fully_disbursed")
    actions = [(r["action"], r["outcome"]) for r in api.get("/v1/audit", limit=500).json()["data"]]
    assert ("loan.apply", "ok") in actions and ("loan.approve", "ok") in actions
    assert actions[-2:] == [("loan.disburse", "ok"), ("loan.disburse", "refused: loan_fully_disbursed")]


# --- the database's own guards -----------------------------------------------------------------


def test_the_tables_match_the_migration(db):
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    ours = [d for d in differences if any(table in repr(d) for table in LOAN_TABLES)]
    assert ours == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE loan_transaction SET amount_satang = amount_satang + 1",
        "DELETE FROM loan_transaction",
        "UPDATE loan_instalment SET principal_satang = 0",
        "DELETE FROM loan_schedule",
        "UPDATE loan SET approved_by = recorded_by",  # four eyes
        "INSERT INTO loan_transaction (loan_id, book_id, kind, effective_date, amount_satang, principal_satang, "
        "interest_satang, penalty_satang, overpayment_satang, interest_from_receivable_satang, entry_id, "
        "recorded_at, recorded_by) SELECT loan_id, book_id, 'repayment', effective_date, 100, 50, 49, 0, 0, 0, "
        "entry_id, recorded_at, recorded_by FROM loan_transaction",  # a satang allocated nowhere
        "INSERT INTO loan_transaction (loan_id, book_id, kind, effective_date, amount_satang, principal_satang, "
        "interest_satang, penalty_satang, overpayment_satang, interest_from_receivable_satang, entry_id, "
        "recorded_at, recorded_by) SELECT loan_id, book_id, kind, effective_date, amount_satang, principal_satang, "
        "interest_satang, penalty_satang, overpayment_satang, interest_from_receivable_satang, entry_id, "
        "recorded_at, recorded_by FROM loan_transaction WHERE kind = 'accrual'",  # a second accrual that day
    ],
)
def test_the_database_refuses_bad_loan_rows(api, db, lender, statement):
    loan = approved_loan(lender)
    disburse(lender, loan["id"])
    api.post("/v1/close-of-business", {"date": "2024-02-14"})
    with pytest.raises(DBAPIError), db.write() as connection:
        connection.execute(text(statement))
    with db.read() as connection:
        count = connection.execute(text("SELECT count(*) FROM loan_transaction")).scalar_one()
        approver = connection.execute(text("SELECT approved_by <> recorded_by FROM loan")).scalar_one()
    assert count == 2 and approver


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent writers need PostgreSQL (CODI_TEST_DB=postgres)")
def test_close_of_business_and_repayments_at_once_never_deadlock(api, db, lender):
    """Close of business (in batches of three loans) and repayments of the same loans, in
    transactions of their own at the same time: loan rows are always locked before balance rows,
    so neither waits for the other in a circle, and the figures come out exact."""
    ids = [approved_loan(lender)["id"] for _ in range(9)]
    for loan_id in ids:
        disburse(lender, loan_id)
    with db.read() as connection:
        user_id = connection.execute(text("SELECT id FROM app_user WHERE name = 'officer-1'")).scalar_one()
    errors: list[Exception] = []

    def run(work) -> None:
        try:
            work()
        except Exception as error:  # reported below, with the test's own assertion
            errors.append(error)

    def close_days() -> None:
        for offset in range(20):
            with db.write() as connection:
                loan_cob.close_of_business(connection, date(2024, 2, 1) + timedelta(days=offset),
                                           today=date(2024, 6, 14), user_id=user_id, now=NOW, batch_size=3)  # fmt: skip

    def repay_all(order: list[int]) -> None:
        for loan_id in order:
            with db.write() as connection:
                loans.repay(connection, loan_id, amount_satang=1_000_00 + loan_id, on=date(2024, 2, 29),
                            today=date(2024, 6, 14), user_id=user_id, now=NOW)  # fmt: skip

    threads = [threading.Thread(target=run, args=(close_days,))]
    threads += [threading.Thread(target=run, args=(lambda o=order: repay_all(o),)) for order in (ids[::2], ids[1::2])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    receivable = 0
    for loan_id in ids:
        shown = api.get(f"/v1/loans/{loan_id}").json()
        assert balance(api, shown["receivable_account_id"]) == shown["figures"]["principal_outstanding"]
        receivable += int(shown["figures"]["interest_receivable"].replace(".", ""))
        assert shown["cob_through"] == "2024-02-20"
    assert int(balance(api, lender["1210"]).replace(".", "")) == receivable
