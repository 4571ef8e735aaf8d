"""CODI's loan to an organisation mirrored in the organisation's own book, the monthly remittance
(one operation across two books: both or neither), a month's shortfall, and the reconciliation
across tiers, which no sequence of operations through the API can break (a property test) but an
entry made by hand can."""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import journal, loans, tier_mirror
from tests.conftest import NO_KEY, make_user
from tests.test_api_loans import (  # noqa: F401  (lender is a fixture)
    approved_loan,
    balance,
    disburse,
    lender,
    refused,
    repay,
)


@pytest.fixture
def tier(api, lender) -> dict:  # noqa: F811
    """The lender's borrower (a cooperative) keeps an organisation book: its chart's ids by code."""
    book = api.post("/v1/books", {"code": "ORG", "kind": "organisation", "name_th": "สมุดบัญชีสหกรณ์",
                                  "party_id": lender["borrower_id"]})  # fmt: skip
    assert book.status_code == 201, book.text
    codes = {a["code"]: a["id"] for a in api.get(f"/v1/books/{book.json()['id']}/accounts").json()["data"]}
    member = api.post("/v1/parties", {"kind": "member", "name_th": "สมาชิกผู้ออม", "member_of": lender["borrower_id"]})
    saved = api.post(f"/v1/organisations/{lender['borrower_id']}/savings/deposits",
                     {"member_id": member.json()["id"], "amount": "1000.00", "effective_date": "2024-01-02"})
    assert saved.status_code == 201, saved.text  # the savings CODI's check reads from the book: as applied for
    return {**lender, "org": {"book_id": book.json()["id"], **codes}, "member_id": member.json()["id"]}


def org_account(api, tier, code: str) -> dict:
    accounts = api.get(f"/v1/books/{tier['org']['book_id']}/accounts").json()["data"]
    return next(a for a in accounts if a["code"] == code)


def remit(tier, loan_id, amount, on, *, month=None, key=None, **extra):
    body = {"codi_loan_id": loan_id, "month": month or on[:7], "on": on, "amount": amount, **extra}
    return tier["officer"].post(f"/v1/organisations/{tier['borrower_id']}/remittances", body, key)


def reconciliation(api) -> list[dict]:
    answer = api.get("/v1/reports/tier-reconciliation")
    assert answer.status_code == 200, answer.text
    return answer.json()["organisations"]


def test_disbursement_accrual_and_repayment_are_mirrored(api, tier):
    loan = approved_loan(tier)
    disburse(tier, loan["id"])
    payable = org_account(api, tier, f"2300-{loan['id']}")
    assert (payable["balance"], payable["party_id"], balance(api, tier["org"]["1100"])) == ("-10000.00", None,
                                                                                             "11000.00")  # and savings
    api.post("/v1/close-of-business", {"date": "2024-02-14"})  # 51.72 accrued
    assert org_account(api, tier, f"2310-{loan['id']}")["balance"] == "-51.72"
    assert balance(api, tier["org"]["5100"]) == "51.72"
    repay(tier, loan["id"], "3400.22", "2024-02-29")  # 100.00 interest (51.72 accrued), 3,300.22 principal
    assert org_account(api, tier, f"2300-{loan['id']}")["balance"] == "-6699.78"
    assert org_account(api, tier, f"2310-{loan['id']}")["balance"] == "0.00"
    assert (balance(api, tier["org"]["5100"]), balance(api, tier["org"]["1100"])) == ("100.00", "7599.78")
    [line] = reconciliation(api)
    assert (line["codi_principal"], line["org_principal"], line["codi_interest"], line["differs"]) == (
        "6699.78", "6699.78", "0.00", False)  # fmt: skip


def test_a_borrower_without_an_organisation_book_gets_no_mirror(api, lender):  # noqa: F811
    loan = approved_loan(lender)
    disbursed = disburse(lender, loan["id"])
    assert disbursed.status_code == 201 and reconciliation(api) == []
    refused(remit(lender, loan["id"], "100.00", "2024-02-29"), 404, "not_found")


def test_a_remittance_is_a_repayment_and_its_mirror_under_one_operation(api, tier, db):
    loan = approved_loan(tier)
    disburse(tier, loan["id"])
    api.post("/v1/close-of-business", {"date": "2024-02-14"})
    answer = remit(tier, loan["id"], "3400.22", "2024-02-29", key="remit-feb")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["principal"], body["interest"], body["penalty"], body["month"]) == ("3300.22", "100.00", "0.00",
                                                                                      "2024-02")
    with db.read() as connection:
        codi, org = journal.get_entries(connection, [body["codi_entry_id"], body["org_entry_id"]])
    assert codi["kind"] == "loan.repayment" and org["kind"] == "codi.loan.repayment"
    assert org["dimensions"] == {"codi_entry_id": str(codi["id"]), "codi_loan_id": str(loan["id"])}
    assert sorted((p["account_code"], p["amount_satang"]) for p in org["postings"]) == [
        ("1100", -340022), (f"2300-{loan['id']}", 330022), (f"2310-{loan['id']}", 5172), ("5100", 4828)]
    audit = [r for r in api.get("/v1/audit", limit=100).json()["data"] if r["action"] == "organisation.remit"]
    assert [set(r["entry_ids"]) for r in audit] == [{codi["id"], org["id"]}]
    again = remit(tier, loan["id"], "3400.22", "2024-02-29", key="remit-feb")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == body
    assert not any(line["differs"] for line in reconciliation(api))


def snapshot(api, tier, loan_id) -> tuple:
    """Both books' trial balances and the loan's statement."""
    books_ = [api.get(f"/v1/books/{b}/trial-balance").json() for b in (tier["book_id"], tier["org"]["book_id"])]
    return books_, api.get(f"/v1/loans/{loan_id}/statement").json()


@pytest.mark.parametrize(("module", "name"), [(tier_mirror, "post_mirror"), (loans, "_record_tx")])
def test_a_remittance_failing_on_either_side_writes_neither(api, tier, monkeypatch, module, name):
    """Both or neither: the organisation's side fails after CODI's entry is written, or CODI's
    loan transaction fails after both entries are: nothing of either is left."""
    loan = approved_loan(tier)
    disburse(tier, loan["id"])
    before = snapshot(api, tier, loan["id"])

    def fail(*args, **kwargs):
        raise RuntimeError("the second write failed")

    monkeypatch.setattr(module, name, fail)
    assert remit(tier, loan["id"], "3400.22", "2024-02-29").status_code == 500
    assert snapshot(api, tier, loan["id"]) == before
    monkeypatch.undo()
    assert remit(tier, loan["id"], "3400.22", "2024-02-29").status_code == 201
    assert snapshot(api, tier, loan["id"]) != before


def test_bad_remittances_are_refused_with_named_reasons(api, tier, db):
    loan = approved_loan(tier)
    disburse(tier, loan["id"])
    other = approved_loan(tier, borrower_party_id=api.post("/v1/parties", {"kind": "savings_group",
                                                                            "name_th": "กลุ่มออมทรัพย์อื่น"}).json()["id"])
    refused(remit(tier, 999999, "100.00", "2024-02-29"), 404, "not_found")
    refused(remit(tier, other["id"], "100.00", "2024-02-29"), 422, "loan_not_of_organisation")
    refused(remit(tier, loan["id"], "100.00", "2024-02-29", month="2024-03"), 422, "remittance_month_mismatch")
    refused(remit(tier, loan["id"], "0.00", "2024-02-29"), 422, "amount_must_be_positive")
    refused(remit(tier, loan["id"], "-5.00", "2024-02-29"), 422, "amount_must_be_positive")
    refused(remit(tier, loan["id"], "100.00", "2024-02-29", from_reserve="100.01"), 422, "reserve_exceeds_remittance")
    refused(remit(tier, loan["id"], "10300.00", "2024-04-30"), 409, "remittance_exceeds_due")
    refused(remit(tier, loan["id"], "100.00", "2024-02-29", key=NO_KEY), 422, "idempotency_key_required")
    auditor = api.as_(make_user(db, "auditor-1", "auditor"))
    refused(auditor.post(f"/v1/organisations/{tier['borrower_id']}/remittances",
                         {"codi_loan_id": loan["id"], "month": "2024-02", "on": "2024-02-29", "amount": "1.00"}),
            403, "forbidden")  # fmt: skip
    assert reconciliation(auditor)[0]["differs"] is False


def test_a_month_short_of_members_payments_shows_the_reserve_and_the_arrears(api, tier):
    """Members repaid 1,000.00 in February; CODI's instalment is 3,400.22; the organisation pays
    3,000.00, 500.00 of it from the reserve: the margin covers 1,500.00, 400.22 stays in arrears."""
    loan = approved_loan(tier)
    disburse(tier, loan["id"])
    org = tier["org"]
    assert api.entry(org["book_id"], [(org["3300"], "2000.00"), (org["3200"], "-2000.00")], day="2024-02-01") \
        .status_code == 201  # a reserve set aside
    member_loan = _org_lends(api, tier, "2000.00", "2024-02-01")
    assert repay(tier, member_loan, "1000.00", "2024-02-20").status_code == 201
    paid = remit(tier, loan["id"], "3000.00", "2024-02-29", from_reserve="500.00")
    assert paid.status_code == 201, paid.text
    assert (balance(api, org["3200"]), balance(api, org["3300"])) == ("-1500.00", "1500.00")
    month = api.get(f"/v1/organisations/{tier['borrower_id']}/remittances/2024-02").json()
    assert {k: month[k] for k in ("due", "collected", "shortfall", "remitted", "from_reserve", "from_margin",
                                  "arrears")} == {
        "due": "3400.22", "collected": "1000.00", "shortfall": "2400.22", "remitted": "3000.00",
        "from_reserve": "500.00", "from_margin": "1500.00", "arrears": "400.22"}  # fmt: skip
    refused(api.get(f"/v1/organisations/{tier['borrower_id']}/remittances/2024-13"), 422, "malformed_date")
    assert not any(line["differs"] for line in reconciliation(api))


def _org_lends(api, tier, amount: str, on: str) -> int:
    """The organisation lends to a member out of its book (its own loan engine)."""
    org = tier["org"]
    product = api.post("/v1/loan-products", {"book_id": org["book_id"], "code": "ON-6", "name_th": "เงินกู้ต่อ",
                                             "rate_annual_percent": "6", "term_instalments": 12})  # fmt: skip
    member_loan = {**tier, "product_id": product.json()["id"]}
    loan = approved_loan(member_loan, borrower_party_id=tier["member_id"], amount=amount)
    assert disburse(tier, loan["id"], amount, on).status_code == 201
    return loan["id"]


def test_an_entry_by_hand_that_breaks_the_mirror_is_reported(api, tier):
    loan = approved_loan(tier)
    disburse(tier, loan["id"])
    org = tier["org"]
    assert api.entry(org["book_id"], [(org["2300"], "-50.00"), (org["5500"], "50.00")]).status_code == 201
    [line] = reconciliation(api)
    assert (line["principal_difference"], line["interest_difference"], line["differs"]) == ("-50.00", "0.00", True)
    assert api.get("/v1/reports/tier-reconciliation").json()["differing"] == 1
    csv = api.client.get("/v1/reports/tier-reconciliation", params={"format": "csv"}, headers=api.headers())
    assert csv.status_code == 200 and csv.text.splitlines()[1].endswith(",-50.00,0.00,0.00,0.00,False,True")


# --- the reconciliation holds for any sequence of operations ----------------------------------

OPERATIONS = st.lists(st.tuples(st.sampled_from(["cob", "repay", "backdated", "remit", "undo"]),
                                st.integers(1, 20), st.integers(1, 30)), min_size=1, max_size=8)  # fmt: skip
TODAY = date(2024, 6, 14)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_no_sequence_of_operations_makes_the_books_differ(api, tier, operations):
    """A loan disbursed, then close of business, repayments (some dated before earlier ones, which
    re-allocates them), remittances and repayments taken back, in any order on later days: after
    each, refused or not, the reconciliation lists no difference. (The examples share one
    database, each with a loan of its own.)"""
    loan = approved_loan(tier)["id"]
    day = date(2024, 1, 31)
    assert disburse(tier, loan, day=day.isoformat()).status_code == 201
    for action, size, step in operations:
        day = min(day + timedelta(days=step), TODAY)
        amount = f"{size * 250}.00"
        if action == "cob":
            api.post("/v1/close-of-business", {"date": day.isoformat()})
        elif action in ("repay", "backdated"):
            on = day - timedelta(days=10) if action == "backdated" else day
            repay(tier, loan, amount, max(on, date(2024, 2, 1)).isoformat())
        elif action == "remit":
            remit(tier, loan, amount, day.isoformat())
        else:
            _undo_last_repayment(tier, loan)
        assert not [line for line in reconciliation(api) if line["differs"]], (action, day)


def _undo_last_repayment(tier, loan_id: int) -> None:
    lines = tier["officer"].get(f"/v1/loans/{loan_id}/statement").json()["lines"]
    paid = [line for line in lines if line["kind"] == "repayment"]
    if paid:
        tier["officer"].post(f"/v1/loans/{loan_id}/repayments/{paid[-1]['transaction_id']}/reversal",
                             {"reason": "the cheque bounced"})  # fmt: skip
