"""On-lending to members (issue 18, item 3), through the real app: a member loan's whole life in
its organisation's book with the same loan engine, kept out of CODI's portfolio and dashboard;
CODI's part of a member product's rate and the split of the interest; the funding source; the
organisation's own lending rule, each of its reasons; and properties: the split always adds up,
and an accepted application never breaks the rule."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ledger.errors import LedgerError, Rejection
from ledger.money import parse_amount
from ledger.onlend import LendingRule, MemberApplication, rule_refusal, split_interest
from store import dashboard, loans, onlend
from tests.conftest import make_user
from tests.test_api_loans import refused

PURE = settings(max_examples=200, deadline=None)
THROUGH_API = settings(max_examples=20, deadline=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip


@dataclass
class Tiers:
    """CODI's fund book and its loan to a housing cooperative; the cooperative's own book, with
    cash, a member loan product at 6 % (4 % of it CODI's) and three members, the first with
    1,000.00 of savings; another cooperative with a member of its own."""

    api: object
    officer: object
    approver: object
    fund: dict
    coop: int
    book: int
    accounts: dict
    product: int
    members: list[int]
    stranger: int
    codi_loan: int

    def apply(self, **changes):
        body = {"product_id": self.product, "borrower_party_id": self.members[0], "amount": "2000.00",
                "savings": "0.00", **changes}  # fmt: skip
        return self.officer.post("/v1/loans", body)

    def put_rule(self, body: dict, who=None):
        caller = who or self.officer
        return caller.client.put(f"/v1/organisations/{self.coop}/lending-rule", json=body, headers=caller.headers())


def created(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def party(api, **fields) -> int:
    return created(api.post("/v1/parties", fields))["id"]


def approved_and_paid(tiers: Tiers, loan: dict, amount: str, day: str, caller=None) -> dict:
    caller = caller or tiers.officer
    created(tiers.approver.post(f"/v1/loans/{loan['id']}/approval", {}))
    return created(caller.post(f"/v1/loans/{loan['id']}/disbursements", {"amount": amount, "effective_date": day}))


@pytest.fixture
def tiers(api, db, fund) -> Tiers:
    officer, approver = (api.as_(make_user(db, name, name)) for name in ("officer", "approver"))
    coop = fund["borrower_id"]
    created(api.entry(fund["book_id"], [(fund["1100"], "1000000.00"), (fund["3100"], "-1000000.00")], day="2024-01-02"))
    codi_product = created(api.post("/v1/loan-products", {"book_id": fund["book_id"], "code": "CODI-4",
                                                          "name_th": "สินเชื่อที่อยู่อาศัย", "rate_annual_percent": "4",
                                                          "term_instalments": 12}))  # fmt: skip
    codi_loan = created(officer.post("/v1/loans", {"product_id": codi_product["id"], "borrower_party_id": coop,
                                                   "amount": "100000.00", "savings": "10000.00"}))  # fmt: skip
    book = created(api.post("/v1/books", {"code": "ORG-1", "kind": "organisation", "name_th": "สมุดบัญชีสหกรณ์",
                                          "party_id": coop}))["id"]  # fmt: skip
    accounts = {a["code"]: a["id"] for a in api.get(f"/v1/books/{book}/accounts", limit=200).json()["data"]}
    created(api.entry(book, [(accounts["1100"], "50000.00"), (accounts["3100"], "-50000.00")], day="2024-01-02"))
    product = created(api.post("/v1/loan-products", {"book_id": book, "code": "MEMBER-6", "name_th": "เงินกู้สมาชิก",
                                                     "rate_annual_percent": "6", "codi_rate_annual_percent": "4",
                                                     "term_instalments": 3, "min_savings_percent": "0"}))  # fmt: skip
    members = [party(api, kind="member", name_th=f"สมาชิก {n}", member_of=coop) for n in range(3)]
    other = party(api, kind="savings_group", name_th="กลุ่มออมทรัพย์อื่น")
    tiers = Tiers(api, officer, approver, fund, coop, book, accounts, product["id"], members,
                  party(api, kind="member", name_th="สมาชิกกลุ่มอื่น", member_of=other), codi_loan["id"])  # fmt: skip
    save(tiers, members[0], "1000.00")
    return tiers


def save(tiers: Tiers, member: int, amount: str) -> None:
    """A deposit to the member's savings account (TIERS.md convention 2), made on first use."""
    account = created(tiers.api.post(f"/v1/books/{tiers.book}/accounts", {
        "code": f"2200-{member}", "name_th": "เงินฝากสัจจะ", "type": "liability", "parent_id": tiers.accounts["2200"],
        "party_id": member,
    }))["id"]  # fmt: skip
    created(tiers.api.entry(tiers.book, [(tiers.accounts["1100"], amount), (account, f"-{amount}")], day="2024-01-03"))


# --- a member loan's life, out of CODI's portfolio -----------------------------------------------


def test_a_member_loan_lives_in_the_organisation_book_and_stays_out_of_codis_portfolio(tiers, db):
    api = tiers.api
    approved_and_paid(tiers, created(api.get(f"/v1/loans/{tiers.codi_loan}")), "100000.00", "2024-01-15")
    loan = created(tiers.apply(amount="3001.00", funded_by_loan_id=tiers.codi_loan))
    assert (loan["book_id"], loan["funded_by_loan_id"]) == (tiers.book, tiers.codi_loan)
    paid_out = approved_and_paid(tiers, loan, "3001.00", "2024-01-31")["loan"]
    receivable = created(api.get(f"/v1/accounts/{paid_out['receivable_account_id']}"))
    assert (receivable["book_id"], receivable["party_id"], receivable["balance"]) == (tiers.book, tiers.members[0],
                                                                                      "3001.00")  # fmt: skip
    schedule = created(api.get(f"/v1/loans/{loan['id']}/schedule"))["instalments"]
    first = schedule[0]
    assert (first["due_on"], first["interest"]) == ("2024-02-29", "15.01")  # 3,001.00 x 6 % / 12, half up
    created(tiers.officer.post(f"/v1/loans/{loan['id']}/repayments",
                               {"amount": first["total"], "effective_date": "2024-02-29"}))  # fmt: skip
    for day in ("2024-03-31", "2024-04-15"):  # the second instalment falls due and is not paid
        assert api.post("/v1/close-of-business", {"date": day}).status_code == 200
    aged = created(api.get(f"/v1/loans/{loan['id']}", as_of="2024-04-15"))
    assert (aged["figures"]["days_past_due"], aged["figures"]["loan_class"]) == (15, "pass")
    assert aged["cob_through"] == "2024-04-15"
    split = aged["interest_split"]
    # of 15.01 collected, CODI's 4/6 is 10.006..., 10.01 half up; the margin the rest
    collected = (split["collected"], split["collected_owed_to_codi"], split["collected_margin"])
    assert collected == ("15.01", "10.01", "5.00")
    assert Decimal(split["charged"]) > Decimal(split["collected"])
    statement = created(api.get(f"/v1/loans/{loan['id']}/statement"))
    assert statement["interest_split"]["collected_owed_to_codi"] == "10.01"

    codis = created(api.get("/v1/portfolio", as_of="2024-04-15"))
    assert (codis["count"], codis["gross_outstanding"]) == (1, created(api.get(f"/v1/loans/{tiers.codi_loan}",
                                                            as_of="2024-04-15"))["figures"]["principal_outstanding"])
    assert [g["key"] for g in codis["groups"]["product"]] == ["CODI-4"]
    organisations = created(api.get("/v1/portfolio", as_of="2024-04-15", book_id=tiers.book))
    assert (organisations["count"], organisations["par30_outstanding"]) == (1, "0.00")
    assert organisations["gross_outstanding"] == aged["figures"]["principal_outstanding"]
    created(tiers.apply())  # waiting for the organisation's approval, not CODI's
    with db.read() as connection:
        closed = dashboard.portfolio_as_closed(connection, date(2024, 4, 15))
        assert (closed.gross.count, closed.gross.outstanding_satang) == (1, parse_amount(codis["gross_outstanding"]))
        in_arrears = dashboard.loans_in_arrears(connection, date(2024, 4, 15))  # not the member's: the organisation's
        assert [r["loan_id"] for r in in_arrears] == [tiers.codi_loan]
        assert dashboard.pending(connection).loans == 0  # the organisation approves its members' loans
        assert dashboard.falling_due(connection, date(2024, 4, 16), date(2024, 5, 31)).loans == 1  # CODI's only


# --- who may borrow -------------------------------------------------------------------------------


def test_an_organisation_lends_to_its_own_members_only_and_codi_to_none(tiers):
    refused(tiers.apply(borrower_party_id=tiers.stranger), 422, "ineligible_borrower")
    refused(tiers.apply(borrower_party_id=tiers.coop), 422, "ineligible_borrower")
    codi = created(tiers.api.get(f"/v1/loans/{tiers.codi_loan}"))
    refused(tiers.officer.post("/v1/loans", {"product_id": codi["product_id"], "borrower_party_id": tiers.members[0],
                                             "amount": "1000.00", "savings": "1000.00"}), 422, "ineligible_borrower")
    for extra in ({"funded_by_loan_id": tiers.codi_loan}, {"guarantor_member_ids": [tiers.members[1]]}):
        refused(tiers.officer.post("/v1/loans", {"product_id": codi["product_id"], "borrower_party_id": tiers.coop,
                                                 "amount": "1000.00", "savings": "1000.00", **extra}),
                422, "invalid_request")  # fmt: skip
    loan = created(tiers.apply(guarantors=[{"name": "นายสมชาย ใจดี", "relationship": "neighbour"}]))
    assert (loan["borrower_party_id"], loan["funded_by_loan_id"]) == (tiers.members[0], None)  # its own funds


# --- CODI's part of the rate ----------------------------------------------------------------------


def test_codis_part_of_the_rate_is_for_member_products_and_at_most_their_rate(tiers):
    api, fund = tiers.api, tiers.fund
    product = created(api.get(f"/v1/loan-products/{tiers.product}"))
    assert (product["terms"]["rate_annual_percent"], product["codi_rate_annual_percent"]) == ("6", "4")
    body = {"book_id": tiers.book, "code": "MEMBER-X", "name_th": "เงินกู้", "rate_annual_percent": "6",
            "term_instalments": 3, "min_savings_percent": "0"}  # fmt: skip
    refused(api.post("/v1/loan-products", {**body, "codi_rate_annual_percent": "6.5"}), 422, "invalid_codi_rate")
    lower_later = {"rate_changes": [{"effective_on": "2025-01-01", "rate_annual_percent": "3"}]}
    refused(api.post("/v1/loan-products", {**body, **lower_later, "codi_rate_annual_percent": "4"}),
            422, "invalid_codi_rate")  # fmt: skip
    refused(api.post("/v1/loan-products", {**body, "book_id": fund["book_id"], "codi_rate_annual_percent": "1"}),
            422, "invalid_codi_rate")  # fmt: skip
    whole = created(api.post("/v1/loan-products", {**body, "codi_rate_annual_percent": "6"}))
    assert whole["codi_rate_annual_percent"] == "6"
    unsplit = created(api.post("/v1/loan-products", {**body, "code": "MEMBER-Y"}))
    loan = created(tiers.apply(product_id=unsplit["id"]))
    assert created(api.get(f"/v1/loans/{loan['id']}"))["interest_split"] is None


# --- the funding source ---------------------------------------------------------------------------


def test_a_member_loan_is_funded_by_codis_loan_to_its_organisation_or_its_own_funds(tiers):
    api, fund = tiers.api, tiers.fund
    funded = created(tiers.apply(funded_by_loan_id=tiers.codi_loan))
    assert created(api.get(f"/v1/loans/{funded['id']}"))["funded_by_loan_id"] == tiers.codi_loan
    other = party(api, kind="cooperative", name_th="สหกรณ์อื่น")
    codi = created(api.get(f"/v1/loans/{tiers.codi_loan}"))
    to_other = created(tiers.officer.post("/v1/loans", {"product_id": codi["product_id"], "borrower_party_id": other,
                                                        "amount": "1000.00", "savings": "1000.00"}))  # fmt: skip
    for wrong in (to_other["id"], funded["id"], 999_999):  # another's loan, a member loan, none
        refused(tiers.apply(funded_by_loan_id=wrong), 422, "invalid_funding_loan")
    assert fund["book_id"] != tiers.book


# --- the organisation's lending rule --------------------------------------------------------------


def test_the_lending_rule_is_set_by_an_officer_audited_and_read_by_staff(tiers, db):
    api = tiers.api
    refused(api.get(f"/v1/organisations/{tiers.coop}/lending-rule"), 404, "not_found")
    rule = created(tiers.put_rule({"savings_multiple": "3", "maximum_loan": "2500.00", "guarantors_required": 1}))
    assert (rule["savings_multiple"], rule["maximum_loan"], rule["guarantors_required"]) == ("3", "2500.00", 1)
    again = created(tiers.put_rule({"maximum_loan": "5000.00"}))
    assert (again["savings_multiple"], again["maximum_loan"], again["guarantors_required"]) == (None, "5000.00", 0)
    assert created(api.get(f"/v1/organisations/{tiers.coop}/lending-rule")) == again
    refused(tiers.put_rule({"maximum_loan": "1.00"}, tiers.approver), 403, "forbidden")
    for bad in ({"savings_multiple": "0"}, {"maximum_loan": "0.00"}, {"maximum_loan": "-5.00"}):
        refused(tiers.put_rule(bad), 422, "invalid_lending_rule")
    refused(tiers.put_rule({"guarantors_required": 11}), 422, "invalid_request")
    without_book = party(api, kind="savings_group", name_th="กลุ่มไม่มีสมุด")
    refused(api.client.put(f"/v1/organisations/{without_book}/lending-rule", json={}, headers=api.headers()),
            404, "not_found")  # fmt: skip
    records = api.get("/v1/audit", limit=500).json()["data"]
    targets = [r["target"] for r in records if r["action"] == "organisation.lending-rule"]
    refusal = f"/v1/organisations/{without_book}/lending-rule"
    assert sorted(targets) == sorted([f"lending-rule:{tiers.coop}"] * 2 + [refusal])


def test_each_part_of_the_rule_refuses_with_its_reason(tiers):
    first, second = tiers.members[1], tiers.members[2]
    created(tiers.put_rule({"savings_multiple": "2.5", "maximum_loan": "2400.00", "guarantors_required": 2}))
    refused(tiers.apply(amount="2500.01", guarantor_member_ids=[first, second]), 422, "exceeds_savings_multiple")
    refused(tiers.apply(amount="2400.01", guarantor_member_ids=[first, second]), 422, "exceeds_maximum_loan")
    refused(tiers.apply(amount="2400.00", guarantor_member_ids=[first]), 422, "guarantors_required")
    for stranger in (tiers.members[0], tiers.stranger, tiers.coop):  # the borrower, another's member, no member
        refused(tiers.apply(guarantor_member_ids=[first, stranger]), 422, "guarantor_not_member")
    refused(tiers.apply(guarantor_member_ids=[first, first]), 422, "invalid_request")
    loan = created(tiers.apply(amount="2400.00", guarantor_member_ids=[first, second]))
    assert [(g["party_id"], g["relationship"]) for g in loan["guarantors"]] == [(first, "member"), (second, "member")]
    refused(tiers.apply(borrower_party_id=first, amount="1.00", guarantor_member_ids=[second, tiers.members[0]]),
            422, "exceeds_savings_multiple")  # no savings account: nothing saved  # fmt: skip


# --- properties -----------------------------------------------------------------------------------

rates = st.decimals(min_value=0, max_value=100, places=3)


@PURE
@given(interest=st.integers(-10**12, 10**12), pair=st.tuples(rates, rates))
def test_codis_share_and_the_margin_always_add_up_to_the_interest(interest, pair):
    codi_rate, rate = sorted(pair)
    split = split_interest(interest, codi_rate, rate)
    assert split.owed_to_codi_satang + split.margin_satang == interest
    exact = Fraction(interest) * (Fraction(codi_rate) / Fraction(rate) if rate else 1)
    assert abs(split.owed_to_codi_satang - exact) <= Fraction(1, 2)
    if rate and abs(split.owed_to_codi_satang - exact) == Fraction(1, 2):  # a half: away from zero
        assert abs(split.owed_to_codi_satang) > abs(exact)


satang = st.integers(1, 500_000)
optional_multiple = st.none() | st.decimals(min_value=Decimal("0.5"), max_value=5, places=2)


@THROUGH_API
@given(multiple=optional_multiple, maximum=st.none() | satang, required=st.integers(0, 2), amount=satang,
       guarantors=st.integers(0, 2))  # fmt: skip
def test_an_accepted_application_never_breaks_the_organisations_rule(tiers, multiple, maximum, required, amount,
                                                                     guarantors):  # fmt: skip
    rule = {"savings_multiple": None if multiple is None else str(multiple),
            "maximum_loan": None if maximum is None else f"{maximum / 100:.2f}", "guarantors_required": required}
    created(tiers.put_rule(rule))
    answer = tiers.apply(amount=f"{amount / 100:.2f}", guarantor_member_ids=tiers.members[1:1 + guarantors])
    savings = 1000_00
    breaks = rule_refusal(LendingRule(multiple, maximum, required), MemberApplication(amount, savings, guarantors))
    if answer.status_code == 201:
        assert breaks is None
        assert multiple is None or amount <= savings * multiple
        assert maximum is None or amount <= maximum
        assert guarantors >= required
    else:
        assert breaks is not None and answer.json()["reason"] == breaks.reason, answer.text


def test_the_store_reads_the_members_savings_from_the_book(tiers, db):
    with db.read() as connection:
        assert onlend.member_savings_satang(connection, tiers.book, tiers.members[0]) == 1000_00
        assert onlend.member_savings_satang(connection, tiers.book, tiers.members[1]) == 0


def test_a_rule_refuses_what_it_cannot_judge():
    with pytest.raises(LedgerError) as error:
        LendingRule(None, None, 11)
    assert error.value.reason is Rejection.invalid_lending_rule


def test_the_database_keeps_member_loans_in_their_tier(tiers, db):
    """Around the API: a member loan moved to another's member, or funded by a loan that is not
    CODI's to its organisation, is refused by the database itself."""
    loan = created(tiers.apply(funded_by_loan_id=tiers.codi_loan))
    member_loan = created(tiers.apply())
    for change in ({"borrower_party_id": tiers.stranger}, {"borrower_party_id": tiers.coop},
                   {"funded_by_loan_id": member_loan["id"]}):  # fmt: skip
        with pytest.raises(IntegrityError), db.write() as connection:
            connection.execute(update(loans.loan_t).where(loans.loan_t.c.id == loan["id"]).values(**change))
    with pytest.raises(IntegrityError), db.write() as connection:
        connection.execute(update(loans.loan_t).where(loans.loan_t.c.id == tiers.codi_loan)
                           .values(funded_by_loan_id=tiers.codi_loan))  # a fund book's loan is funded by none
    with db.write() as connection:
        connection.execute(update(loans.loan_t).where(loans.loan_t.c.id == member_loan["id"])
                           .values(funded_by_loan_id=tiers.codi_loan, borrower_party_id=tiers.members[1]))
