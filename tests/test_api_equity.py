"""Co-investment through the real app: registers, cap tables, policies, distributions and the
fund's investments; each bad input answered with problem+json and nothing changed; the
approval threshold and four eyes; what enterprise tokens and other roles may do; and the
database's own guards on the new tables."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from tests.conftest import NO_KEY, approved, make_user

EQUITY_TABLES = {
    "share_class",
    "register_event",
    "distribution_policy",
    "distribution",
    "distribution_part",
    "distribution_payment",
    "investment_setting",
    "investment",
    "investment_purchase",
    "investment_event",
}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def refused(response, status: int, reason: str) -> None:
    assert (response.status_code, response.json()["reason"]) == (status, reason), response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture
def market(api, db, fund, checker) -> dict:
    """The fund with 1,000,000.00 in the bank; a soap enterprise (with its own book) of three
    members holding 100, 100 and 50 shares of 100.00; an officer, an approver and an admin-set
    threshold of 50,000.00."""
    ok(api.entry(fund["book_id"], [(fund["1100"], "1000000.00"), (fund["3100"], "-1000000.00")], day="2024-01-02"),
       201)  # fmt: skip
    party = ok(api.post("/v1/parties", {"kind": "community_enterprise", "name_th": "วิสาหกิจชุมชนสบู่",
                                        "region": "north", "province": "Nan"}), 201)["id"]  # fmt: skip
    book = ok(api.post("/v1/books", {"code": "SOAP", "kind": "enterprise", "name_th": "สบู่", "party_id": party}), 201)
    members = [ok(api.post("/v1/parties", {"kind": "other", "name_th": f"สมาชิก {i}"}), 201)["id"] for i in range(3)]
    share = ok(api.post(f"/v1/enterprises/{party}/share-classes", {"code": "ORD", "name_th": "หุ้นสามัญ",
                                                                   "par_value": "100.00"}), 201)["id"]  # fmt: skip
    events = [{"kind": "issue", "effective_date": "2024-01-02", "share_class_id": share, "shares": n, "to_party_id": m}
              for m, n in zip(members, (100, 100, 50), strict=True)]  # fmt: skip
    ok(api.post(f"/v1/enterprises/{party}/register", {"events": events}, "founding"), 201)
    approved(checker, api.post("/v1/investment-settings", {"approval_threshold": "50000.00"}))
    officer = api.as_(make_user(db, "officer", "officer"))
    approver = api.as_(make_user(db, "approver", "approver"))
    return {**fund, "party": party, "ent_book": book["id"], "members": members, "class": share, "officer": officer,
            "approver": approver}  # fmt: skip


def invest(market, shares=250, price="25000.00", day="2024-02-01", key=None, **extra):
    body = {"enterprise_party_id": market["party"], "share_class_id": market["class"], "shares": shares,
            "price": price, "effective_date": day, **extra}  # fmt: skip
    return market["officer"].post("/v1/investments", body, key or f"inv-{shares}-{price}-{day}")


def balance_of(api, book_id: int, code: str) -> str:
    accounts = ok(api.get(f"/v1/books/{book_id}/accounts", limit=500))["data"]
    return next(a["balance"] for a in accounts if a["code"] == code)


def state(api, market) -> tuple:
    """Everything a refused request must leave as it was."""
    return (ok(api.get(f"/v1/enterprises/{market['party']}/cap-table")),
            ok(api.get(f"/v1/books/{market['book_id']}/trial-balance")),
            ok(api.get(f"/v1/books/{market['ent_book']}/trial-balance")),
            ok(api.get("/v1/investments")),
            ok(api.get(f"/v1/enterprises/{market['party']}/distributions")))  # fmt: skip


# --- the life of an investment -------------------------------------------------------------------


def test_an_investment_from_purchase_to_dividend_and_exit(api, market):
    """250 shares for 25,000.00 (below the threshold: posted at once) make the fund hold 250 of
    500 shares, 50 %. A distribution of 2024-02-01..2024-03-31 (60 days of a year from 1 February
    2024 that holds 29 February: 366 days) at 10 % a year on 50,000.00 paid up:
    50,000 x 10 % x 60/366 = 819.67 (819.6721 rounded); split 25:10:10:5 the fund's half is
    409.835, 409.84 with one of the two odd satang (the largest remainders: the 50-share member's
    .7, then the fund's .5); reserve 10 % of 5,000.00 = 500.00. Then 100 shares are sold back for
    12,000.00: cost 10,000.00 at average cost, gain 2,000.00."""
    investment = ok(invest(market), 201)
    assert investment["status"] == "active" and investment["pending_purchase"] is None
    assert investment["figures"] | {"as_of": None} == {
        "as_of": None, "shares": 250, "cost": "25000.00", "average_cost_per_share": "100.0000",
        "impairment": "0.00", "carrying_amount": "25000.00", "percent_of_class": "50.0000",
        "percent_of_capital": "50.0000", "dividends_declared": "0.00", "dividends_received": "0.00",
        "realised_gain": "0.00",
    }  # fmt: skip
    table = ok(api.get(f"/v1/enterprises/{market['party']}/cap-table", as_of="2024-02-01"))
    assert table["classes"] == [{"share_class_id": market["class"], "shares_issued": 500}]
    body = {"period_start": "2024-02-01", "period_end": "2024-03-31", "declared_on": "2024-04-05",
            "net_profit": "5000.00", "dividend_rate_percent": "10"}  # fmt: skip
    declared = ok(api.post(f"/v1/enterprises/{market['party']}/distributions", body, "div-q1"), 201)
    assert (declared["reserve"], declared["dividends"], declared["retained"]) == ("500.00", "819.67", "3680.33")
    fund_party = ok(api.get(f"/v1/books/{market['book_id']}"))["party_id"]
    fund_part = next(p for p in declared["parts"] if p["holder_party_id"] == fund_party)
    assert fund_part["amount"] == "409.84"
    paid = ok(api.post(f"/v1/enterprises/{market['party']}/distributions/{declared['id']}/payments",
                       {"paid_on": "2024-04-10"}, "pay-q1"))  # fmt: skip
    assert len(paid["payments"]) == 4
    sold = ok(market["officer"].post(f"/v1/investments/{investment['id']}/exits",
                                     {"shares": 100, "price": "12000.00", "effective_date": "2024-05-01"}, "exit-1"),
              201)  # fmt: skip
    assert (sold["figures"]["shares"], sold["figures"]["cost"], sold["figures"]["realised_gain"]) == (
        150, "15000.00", "2000.00")  # fmt: skip
    assert (sold["figures"]["dividends_declared"], sold["figures"]["dividends_received"]) == ("409.84", "409.84")
    assert balance_of(api, market["book_id"], "4500") == "-2000.00"
    assert balance_of(api, market["book_id"], "1100") == "987409.84"  # 1,000,000 - 25,000 + 409.84 + 12,000
    lines = ok(api.get(f"/v1/investments/{investment['id']}/statement"))["lines"]
    assert [(line["kind"], line["shares_after"], line["carrying_amount_after"]) for line in lines] == [
        ("purchase", 250, "25000.00"), ("dividend", 250, "25000.00"), ("dividend_payment", 250, "25000.00"),
        ("exit", 150, "15000.00")]  # fmt: skip


def test_the_cash_of_the_exit_arrives_in_the_fund(api, market):
    investment = ok(invest(market), 201)
    ok(
        market["officer"].post(
            f"/v1/investments/{investment['id']}/exits",
            {"shares": 250, "price": "30000.00", "effective_date": "2024-05-01"},
            "exit",
        ),
        201,
    )
    # 1,000,000 - 25,000 + 30,000; the enterprise paid 30,000 out of 50,000 (its members' 25,000 + the fund's)
    assert balance_of(api, market["book_id"], "1100") == "1005000.00"
    assert balance_of(api, market["ent_book"], "1100") == "20000.00"
    assert ok(api.get(f"/v1/investments/{investment['id']}"))["status"] == "exited"


def test_above_the_threshold_a_different_user_approves(api, market):
    pending = ok(invest(market, shares=600, price="60000.00"), 201)
    assert pending["status"] == "pending" and pending["pending_purchase"]["price"] == "60000.00"
    assert balance_of(api, market["book_id"], "1100") == "1000000.00"  # nothing posted yet
    before = state(api, market)
    refused(market["officer"].post(f"/v1/investments/{pending['id']}/approval", {}), 403, "forbidden")
    self_approver = api.as_(make_user(api_db(api), "admin-2", "admin"))
    # an admin who recorded it may not approve it either
    own = self_approver.post("/v1/investments", {"enterprise_party_id": market["party"], "share_class_id":
                             market["class"], "shares": 1, "price": "60000.01", "effective_date": "2024-02-01",
                             "book_id": market["book_id"]}, "own")  # fmt: skip
    refused(own, 409, "duplicate")  # one open position per class: a further purchase goes to it
    ok(market["approver"].post(f"/v1/investments/{pending['id']}/approval", {}))
    assert balance_of(api, market["book_id"], "1100") == "940000.00"
    assert before != state(api, market)
    top_up = ok(
        self_approver.post(
            f"/v1/investments/{pending['id']}/purchases",
            {"shares": 10, "price": "60000.01", "effective_date": "2024-03-01"},
            "t",
        ),
        201,
    )
    assert top_up["pending_purchase"] is not None
    before = state(api, market)
    refused(self_approver.post(f"/v1/investments/{pending['id']}/approval", {}), 403, "same_user_approval")
    assert state(api, market) == before
    refused(market["officer"].post(f"/v1/investments/{pending['id']}/purchases",
                                   {"shares": 1, "price": "1.00", "effective_date": "2024-03-01"}, "t2"),
            409, "investment_purchase_pending")  # fmt: skip


def test_an_admin_cannot_raise_the_threshold_and_then_buy_alone(api, market, checker):
    """The attack: an admin raises the approval threshold above a purchase, then records the
    purchase, which posts at once with no second user. Now the raise waits for a second admin."""
    proposed = api.post("/v1/investment-settings", {"approval_threshold": "1000000.00"}, "raise")
    assert proposed.status_code == 202, proposed.text
    command = proposed.json()
    assert (command["kind"], command["status"]) == ("investment.settings", "pending")
    assert command["payload"] == {"book_id": market["book_id"], "approval_threshold_satang": 1_000_000_00}
    assert ok(api.get("/v1/investment-settings"))["approval_threshold"] == "50000.00"  # not applied
    refused(api.post(f"{command['href']}/approval", {}), 403, "same_user_approval")
    bought = ok(api.post("/v1/investments", {"enterprise_party_id": market["party"], "share_class_id":
                                             market["class"], "shares": 600, "price": "60000.00",
                                             "effective_date": "2024-02-01"}, "alone"), 201)  # fmt: skip
    assert bought["status"] == "pending" and balance_of(api, market["book_id"], "1100") == "1000000.00"
    refused(api.post(f"/v1/investments/{bought['id']}/approval", {}), 403, "same_user_approval")
    decided = approved(checker, proposed)
    assert decided["target"] == f"book:{market['book_id']}:investment-settings"
    assert ok(api.get("/v1/investment-settings"))["approval_threshold"] == "1000000.00"
    trail = [(r["actor"], r["action"], r["target"]) for r in api.get("/v1/audit", limit=500).json()["data"]]
    about = f"admin-command:{command['id']} maker=user:{command['maker_id']}"
    assert ("admin", "investment.settings.propose", about) in trail
    assert ("checker", "admin-command.approve",
            f"{about} checker=user:{decided['checker_id']} -> {decided['target']}") in trail  # fmt: skip


def test_a_threshold_proposal_is_checked_like_its_setting(api, market):
    refused(api.post("/v1/investment-settings", {"approval_threshold": "-1.00"}), 422, "amount_must_be_positive")
    refused(api.post("/v1/investment-settings", {"approval_threshold": "1.00", "book_id": 999}), 404, "not_found")
    assert ok(api.get("/v1/admin-commands", status="pending"))["data"] == []  # only the fixture's, approved


def api_db(api):
    return api.client.app.state.db


def accounts_of(api, book_id: int) -> dict[str, int]:
    return {a["code"]: a["id"] for a in ok(api.get(f"/v1/books/{book_id}/accounts", limit=500))["data"]}


def test_a_dividend_declared_as_an_amount(api, market):
    """600.00 to share out over 2024-02-01..2024-03-31 (60 days of a 366-day year) on 50,000.00
    paid up (the fund's 25,000 and the members' 10,000, 10,000, 5,000): 300.00, 120.00, 120.00,
    60.00; it comes to 600 / (50,000 x 60/366) = 7.32 % a year, under the 10 % cap (819.67)."""
    ok(invest(market), 201)
    body = {"period_start": "2024-02-01", "period_end": "2024-03-31", "declared_on": "2024-04-05",
            "net_profit": "5000.00", "dividend_amount": "600.00"}  # fmt: skip
    declared = ok(api.post(f"/v1/enterprises/{market['party']}/distributions", body, "div-amount"), 201)
    assert (declared["dividends"], declared["declared_dividend"], declared["dividend_rate_percent"]) == (
        "600.00", "600.00", "7.320000")  # fmt: skip
    assert sorted(p["amount"] for p in declared["parts"]) == ["120.00", "120.00", "300.00", "60.00"]
    assert balance_of(api, market["book_id"], "4300") == "-300.00"  # the fund's dividend income
    at_rate = {**body, "period_start": "2024-04-01", "period_end": "2024-04-30", "declared_on": "2024-05-01"}
    del at_rate["dividend_amount"]
    later = ok(api.post(f"/v1/enterprises/{market['party']}/distributions",
                        {**at_rate, "dividend_rate_percent": "6"}, "div-rate"), 201)  # fmt: skip
    assert later["declared_dividend"] is None and later["dividend_rate_percent"] == "6"


def test_an_exit_to_several_buyers_is_one_operation(api, market):
    """The fund's 250 shares (25,000.00) go at once: 50 to one member for 6,000.00, 30 to another
    for 3,000.00 and 20 back to the enterprise for 2,000.00. 100 shares at average cost are
    10,000.00; the gains 1,000.00, 0.00 and 0.00 make 1,000.00. All or none; one key."""
    investment = ok(invest(market), 201)
    first, second = market["members"][:2]
    body = {"effective_date": "2024-05-01", "buyers": [
        {"buyer_party_id": first, "shares": 50, "price": "6000.00"},
        {"buyer_party_id": second, "shares": 30, "price": "3000.00"},
        {"shares": 20, "price": "2000.00"}]}  # fmt: skip
    path = f"/v1/investments/{investment['id']}/exits"
    before = state(api, market)
    too_many = {**body, "buyers": [*body["buyers"], {"buyer_party_id": market["members"][2], "shares": 151,
                                                      "price": "1.00"}]}  # fmt: skip
    refused(market["officer"].post(path, too_many, "too-many"), 409, "insufficient_shares")
    unknown = {**body, "buyers": [*body["buyers"][:2], {"buyer_party_id": 999_999, "shares": 1, "price": "1.00"}]}
    refused(market["officer"].post(path, unknown, "unknown"), 404, "not_found")
    twice = {**body, "buyers": [body["buyers"][0], body["buyers"][0]]}
    refused(market["officer"].post(path, twice, "twice"), 422, "invalid_request")
    both = {**body, "shares": 1, "price": "1.00"}
    refused(market["officer"].post(path, both, "both"), 422, "invalid_request")
    assert state(api, market) == before
    sold = market["officer"].post(path, body, "exit-many")
    again = market["officer"].post(path, body, "exit-many")
    assert (sold.status_code, again.status_code, again.json()) == (201, 201, sold.json())
    figures = sold.json()["figures"]
    assert (figures["shares"], figures["cost"], figures["realised_gain"]) == (150, "15000.00", "1000.00")
    assert balance_of(api, market["book_id"], "1100") == "986000.00"  # 1,000,000 - 25,000 + 11,000
    assert balance_of(api, market["ent_book"], "1100") == "48000.00"  # 50,000 paid in, 2,000 bought back
    lines = ok(api.get(f"/v1/investments/{investment['id']}/statement"))["lines"]
    exits = [(line["shares"], line["cost"], line["gain"]) for line in lines if line["kind"] == "exit"]
    assert exits == [(50, "5000.00", "1000.00"), (30, "3000.00", "0.00"), (20, "2000.00", "0.00")]
    assert len({line["entry_id"] for line in lines if line["kind"] == "exit"}) == 1
    table = ok(api.get(f"/v1/enterprises/{market['party']}/cap-table", as_of="2024-05-01"))
    shares = {line["party_id"]: line["shares"] for line in table["lines"]}
    assert (shares[first], shares[second], table["classes"][0]["shares_issued"]) == (150, 130, 480)
    trail = [(r["idempotency_key"], r["outcome"]) for r in api.get("/v1/audit", limit=500).json()["data"]
             if r["action"] == "investment.exit"]  # fmt: skip
    assert sorted(trail) == [("exit-many", "ok"), ("too-many", "refused: insufficient_shares"),
                             ("twice", "refused: invalid_request"), ("unknown", "refused: not_found")]  # fmt: skip


def test_an_exit_plan_at_par_plus_retained_earnings_per_share(api, market):
    """Retained earnings of 10,000.00 in the enterprise's book over 500 shares of 100.00: 120.00
    a share, 30,000.00 for the fund's 250. Before the earnings were booked: 25,000.00, par."""
    investment = ok(invest(market), 201)
    codes = accounts_of(api, market["ent_book"])
    ok(api.entry(market["ent_book"], [(codes["1100"], "10000.00"), (codes["3300"], "-10000.00")], day="2024-03-31"),
       201)  # fmt: skip
    plan = {"target_date": "2027-12-31", "price_rule": "par_plus_retained"}
    planned = ok(market["officer"].post(f"/v1/investments/{investment['id']}/exit-plan", plan))
    assert planned["exit_plan"]["price_rule"] == "par_plus_retained"
    at = ok(api.get(f"/v1/investments/{investment['id']}", as_of="2024-03-31"))["exit_plan"]["indicative_price"]
    before = ok(api.get(f"/v1/investments/{investment['id']}", as_of="2024-03-30"))["exit_plan"]["indicative_price"]
    assert (at, before) == ("30000.00", "25000.00")


def test_par_plus_retained_earnings_needs_the_enterprise_s_book(api, market):
    party = ok(api.post("/v1/parties", {"kind": "community_enterprise", "name_th": "วิสาหกิจไม่มีสมุด"}), 201)["id"]
    share = ok(api.post(f"/v1/enterprises/{party}/share-classes", {"code": "ORD", "name_th": "หุ้นสามัญ",
                                                                   "par_value": "10.00"}), 201)["id"]  # fmt: skip
    investment = ok(invest({**market, "party": party, "class": share}, shares=10, price="100.00"), 201)
    refused(market["officer"].post(f"/v1/investments/{investment['id']}/exit-plan",
                                   {"target_date": "2027-12-31", "price_rule": "par_plus_retained"}), 422,
            "invalid_request")  # fmt: skip


# --- bad input: problem+json and no change ------------------------------------------------------


def test_bad_investments_are_refused_and_change_nothing(api, market):
    ok(invest(market, shares=100, price="10000.00"), 201)
    before = state(api, market)
    officer, party, share = market["officer"], market["party"], market["class"]
    base = {"enterprise_party_id": party, "share_class_id": share, "shares": 1, "price": "1.00",
            "effective_date": "2024-02-01"}  # fmt: skip
    refused(officer.post("/v1/investments", {**base, "enterprise_party_id": 999_999}, "a"), 404, "not_found")
    refused(officer.post("/v1/investments", {**base, "share_class_id": 999_999}, "b"), 404, "not_found")
    refused(officer.post("/v1/investments", {**base, "enterprise_party_id": market["members"][0]}, "c"), 422,
            "not_an_enterprise")  # fmt: skip
    investment = ok(api.get("/v1/investments"))["data"][0]["id"]
    purchase = f"/v1/investments/{investment}/purchases"
    for shares, price, reason in ((0, "1.00", "shares_must_be_positive"), (-5, "1.00", "shares_must_be_positive"),
                                  (1, "0.00", "amount_must_be_positive"), (1, "-1.00", "amount_must_be_positive"),
                                  (1, "1.001", "malformed_amount")):  # fmt: skip
        refused(officer.post(purchase, {"shares": shares, "price": price, "effective_date": "2024-02-01"},
                             f"p{shares}{price}"), 422, reason)  # fmt: skip
    exits = f"/v1/investments/{investment}/exits"
    refused(officer.post(exits, {"shares": 101, "price": "1.00", "effective_date": "2024-03-01"}, "x"), 409,
            "insufficient_shares")  # fmt: skip
    refused(officer.post(exits, {"shares": 1, "price": "0.00", "effective_date": "2024-03-01"}, "y"), 422,
            "amount_must_be_positive")  # fmt: skip
    refused(officer.post(exits, {"shares": 1, "price": "1.00", "effective_date": "2030-01-01"}, "z"), 422,
            "date_in_future")  # fmt: skip
    impair = f"/v1/investments/{investment}/impairments"
    refused(market["approver"].post(impair, {"amount": "10000.01", "effective_date": "2024-03-01", "reason": "flood"},
                                    "i"), 422, "impairment_exceeds_carrying_amount")  # fmt: skip
    refused(market["approver"].post(f"/v1/investments/{investment}/impairment-reversals",
                                    {"amount": "1.00", "effective_date": "2024-03-01", "reason": "ok"}, "r"),
            422, "reversal_exceeds_impairment")  # fmt: skip
    refused(market["approver"].post(impair, {"amount": "1.00", "effective_date": "2024-03-01", "reason": " "}, "j"),
            422, "reason_required")  # fmt: skip
    assert state(api, market) == before


def test_bad_register_events_are_refused_and_change_nothing(api, market):
    party, share, (a, b, c) = market["party"], market["class"], market["members"]
    ok(api.post(f"/v1/enterprises/{party}/distribution-policy",
                {"effective_from": "2024-01-02", "holder_cap_percent": "45"}), 201)  # fmt: skip
    before = state(api, market)

    def event(**fields):
        return {"effective_date": "2024-03-01", "share_class_id": share, **fields}

    cases = [
        ([event(kind="transfer", shares=101, from_party_id=a, to_party_id=c)], 409, "insufficient_shares"),
        ([event(kind="buy_back", shares=51, from_party_id=c, amount="1.00")], 409, "insufficient_shares"),
        ([event(kind="transfer", shares=100, from_party_id=a, to_party_id=b)], 409, "holder_cap_exceeded"),
        ([event(kind="issue", shares=0, to_party_id=a)], 422, "shares_must_be_positive"),
        ([event(kind="issue", shares=1, to_party_id=a, amount="100.00", paid="100.01")], 422,
         "paid_exceeds_committed"),
        ([event(kind="payment", to_party_id=a, amount="0.01")], 422, "paid_exceeds_committed"),
        ([event(kind="transfer", shares=1, from_party_id=a, to_party_id=a)], 422, "invalid_request"),
        ([event(kind="issue", shares=1, to_party_id=999_999)], 404, "not_found"),
        ([event(kind="issue", shares=1, to_party_id=a, share_class_id=999_999)], 404, "not_found"),
        ([event(kind="issue", shares=1, to_party_id=a, effective_date="2024-01-01")], 409,
         "date_before_last_transaction"),
        # the second event of a batch fails: the first is not kept either
        ([event(kind="issue", shares=10, to_party_id=a), event(kind="cancellation", shares=999, from_party_id=b)], 409,
         "insufficient_shares"),
    ]  # fmt: skip
    for number, (events, status, reason) in enumerate(cases):
        refused(api.post(f"/v1/enterprises/{party}/register", {"events": events}, f"bad-{number}"), status, reason)
    ok(invest(market, shares=10, price="1000.00"), 201)
    fund_party = ok(api.get(f"/v1/books/{market['book_id']}"))["party_id"]
    before = state(api, market)
    refused(api.post(f"/v1/enterprises/{party}/register",
                     {"events": [event(kind="transfer", shares=1, from_party_id=fund_party, to_party_id=a)]}, "f"),
            409, "fund_shares_through_investments")  # fmt: skip
    assert state(api, market) == before


def test_bad_distributions_are_refused_and_change_nothing(api, market):
    party = market["party"]
    path = f"/v1/enterprises/{party}/distributions"
    body = {"period_start": "2024-01-02", "period_end": "2024-03-31", "declared_on": "2024-04-05",
            "net_profit": "5000.00", "dividend_rate_percent": "5"}  # fmt: skip
    ok(api.post(path, body, "first"), 201)
    before = state(api, market)
    cases = [
        ({"period_start": "2024-03-01", "period_end": "2024-04-30", "declared_on": "2024-05-01"}, 409,
         "distribution_period_taken"),
        ({"period_start": "2024-04-01", "period_end": "2024-04-30", "declared_on": "2024-05-01",
          "dividend_rate_percent": "10.01"}, 422, "dividend_rate_above_cap"),
        ({"period_start": "2024-04-01", "period_end": "2024-04-30", "declared_on": "2024-05-01",
          "reserve_percent": "9.99"}, 422, "reserve_below_minimum"),
        ({"period_start": "2024-04-01", "period_end": "2024-04-30", "declared_on": "2024-05-01",
          "net_profit": "100.00", "reserve_percent": "100"}, 422, "distribution_exceeds_profit"),
        ({"period_start": "2024-04-01", "period_end": "2024-04-30", "declared_on": "2024-05-01",
          "patronage_refund": "10.00"}, 422, "invalid_request"),
        ({"period_start": "2024-04-01", "period_end": "2024-04-30", "declared_on": "2030-05-01"}, 422,
         "invalid_date_range"),
        ({"period_start": "2024-04-01", "period_end": "2024-04-30", "declared_on": "2024-05-01",
          "dividend_amount": "1.00"}, 422, "invalid_request"),  # a rate and an amount
        ({"period_start": "2024-04-01", "period_end": "2024-04-30", "declared_on": "2024-05-01",
          "dividend_rate_percent": None}, 422, "invalid_request"),  # neither
        ({"period_start": "2024-04-01", "period_end": "2024-04-30", "declared_on": "2024-05-01",
          "dividend_rate_percent": None, "dividend_amount": "205.49"}, 422, "dividend_rate_above_cap"),
        ({"period_start": "2024-04-01", "period_end": "2024-04-30", "declared_on": "2024-05-01",
          "dividend_amount": "1.001"}, 422, "malformed_amount"),
        ({"period_start": "0001-01-01", "period_end": "0001-01-31", "declared_on": "2024-05-01"}, 422,
         "date_out_of_range"),  # ledger.calendar's window, for every date a client sends
    ]  # fmt: skip
    for number, (changes, status, reason) in enumerate(cases):
        refused(api.post(path, {**body, **changes}, f"bad-{number}"), status, reason)
    refused(api.post(f"/v1/enterprises/{party}/register", {"events": [
        {"kind": "issue", "effective_date": "2024-03-31", "share_class_id": market["class"], "shares": 1,
         "to_party_id": market["members"][0]}]}, "inside"), 409, "date_before_last_transaction")  # fmt: skip
    assert state(api, market) == before


# --- reads, roles and tokens ---------------------------------------------------------------------


def test_the_portfolio_groups_by_region_province_and_centre(api, market):
    ok(invest(market), 201)
    south = ok(api.post("/v1/parties", {"kind": "cooperative", "name_th": "สหกรณ์", "region": "south",
                                        "province": "Songkhla"}), 201)["id"]  # fmt: skip
    share = ok(api.post(f"/v1/enterprises/{south}/share-classes", {"code": "A", "name_th": "ก", "par_value": "10.00"}),
               201)["id"]  # fmt: skip
    body = {"enterprise_party_id": south, "share_class_id": share, "shares": 100, "price": "1000.00",
            "effective_date": "2024-02-01"}  # fmt: skip
    ok(market["officer"].post("/v1/investments", body, "south"), 201)
    report = ok(api.get("/v1/investments", group_by="region", limit=1))
    assert len(report["data"]) == 1 and report["next_cursor"]
    assert [(g["key"], g["count"], g["cost"]) for g in report["groups"]] == [
        ("north", 1, "25000.00"),
        ("south", 1, "1000.00"),
    ]
    assert report["totals"]["cost"] == "26000.00"
    assert [i["province"] for i in ok(api.get("/v1/investments", province="Songkhla"))["data"]] == ["Songkhla"]
    plan = ok(market["officer"].post(f"/v1/investments/{report['data'][0]['id']}/exit-plan",
                                     {"target_date": "2029-09-30", "price_rule": "fixed", "price_per_share": "120.00",
                                      "note": "hand back to members"}, "plan"))  # fmt: skip
    assert plan["exit_plan"]["indicative_price"] == "30000.00"  # 250 shares x 120.00
    refused(market["officer"].post(f"/v1/investments/{plan['id']}/exit-plan",
                                   {"target_date": "2029-09-30", "price_rule": "fixed", "price_per_share": "-1.00"},
                                   "bad-plan"), 422, "amount_must_be_positive")  # fmt: skip
    assert [i["id"] for i in ok(api.get("/v1/investments", exit_before="2030-01-01"))["data"]] == [plan["id"]]


def test_an_enterprise_token_sees_only_its_own(api, db, market):
    ok(invest(market), 201)
    other = ok(api.post("/v1/parties", {"kind": "community_enterprise", "name_th": "อื่น"}), 201)["id"]
    mine = api.as_(make_user(db, "soap", "enterprise", party_id=market["party"]))
    theirs = api.as_(make_user(db, "other", "enterprise", party_id=other))
    view = ok(mine.get(f"/v1/enterprises/{market['party']}/equity"))
    assert len(view["investments"]) == 1 and len(view["cap_table"]["holders"]) == 4
    assert len(ok(mine.get("/v1/investments"))["data"]) == 1
    assert ok(theirs.get("/v1/investments"))["data"] == []
    for path in (f"/v1/enterprises/{market['party']}/cap-table", f"/v1/enterprises/{market['party']}/register",
                 f"/v1/enterprises/{market['party']}/equity", f"/v1/investments/{view['investments'][0]['id']}",
                 f"/v1/investments/{view['investments'][0]['id']}/statement"):  # fmt: skip
        refused(theirs.get(path), 404, "not_found")
    refused(
        mine.post(
            f"/v1/enterprises/{market['party']}/share-classes", {"code": "B", "name_th": "ข", "par_value": "1.00"}
        ),
        403,
        "forbidden",
    )


def test_roles(api, db, market):
    auditor = api.as_(make_user(db, "auditor", "auditor"))
    ok(auditor.get("/v1/investments"))
    refused(invest({**market, "officer": auditor}), 403, "forbidden")
    refused(market["officer"].post("/v1/investment-settings", {"approval_threshold": "1.00"}), 403, "forbidden")
    investment = ok(invest(market), 201)["id"]
    refused(market["officer"].post(f"/v1/investments/{investment}/impairments",
                                   {"amount": "1.00", "effective_date": "2024-03-01", "reason": "x"}, "i"),
            403, "forbidden")  # fmt: skip
    refused(market["officer"].post("/v1/investments", {}, "empty"), 422, "invalid_request")


def test_money_moving_writes_need_a_key_and_replay(api, market):
    body = {"enterprise_party_id": market["party"], "share_class_id": market["class"], "shares": 10,
            "price": "1000.00", "effective_date": "2024-02-01"}  # fmt: skip
    refused(market["officer"].post("/v1/investments", body, NO_KEY), 422, "idempotency_key_required")
    first = market["officer"].post("/v1/investments", body, "same")
    again = market["officer"].post("/v1/investments", body, "same")
    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
    assert again.headers["idempotent-replayed"] == "true"


# --- the database's own guards -------------------------------------------------------------------


def test_the_tables_match_the_migration(db):
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert [d for d in differences if any(table in repr(d) for table in EQUITY_TABLES)] == []


def test_the_database_refuses_bad_rows(api, db, market):
    ok(invest(market, shares=600, price="60000.00"), 201)  # pending
    engine = create_engine(db.url, poolclass=NullPool)
    bad = [
        "UPDATE register_event SET shares = 1",
        "DELETE FROM register_event",
        "UPDATE investment_purchase SET approved_by = recorded_by, status = 'posted'",
        "UPDATE investment_purchase SET status = 'posted'",
        "UPDATE share_class SET par_value_satang = 0",
        "INSERT INTO register_event (enterprise_party_id, share_class_id, kind, effective_date, shares, "
        "amount_satang, paid_satang, recorded_at, recorded_by) SELECT enterprise_party_id, share_class_id, "
        "'transfer', effective_date, 1, 0, 0, recorded_at, recorded_by FROM register_event",
    ]
    for statement in bad:
        with pytest.raises(DBAPIError), engine.begin() as c:
            c.execute(text(statement))
    engine.dispose()
