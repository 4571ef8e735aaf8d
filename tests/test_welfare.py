"""Welfare funds: the pure domain (`ledger.welfare`) by example, and the worked example of a
market day of a northern network's community enterprises, with hand-checked contributions and
the welfare fund's statement, through the real app."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ledger.errors import LedgerError, Rejection
from ledger.welfare import (
    AdminCap,
    BenefitType,
    Channel,
    ContributionRule,
    Frequency,
    MatchingKind,
    MatchingSource,
    Owed,
    admin_cap,
    age_bucket,
    allocate_settlement,
    benefit_type,
    check_admin_cost,
    check_advance_refund,
    check_codi_leg,
    check_product_lines,
    check_rule,
    compose_statement,
    contribution_satang,
    member_contribution_expected,
    overlaps,
    plan_settlement_reversal,
    refuse_overlap,
    rule_in_force,
)
from store import books
from store.welfare import Accounts
from tests.conftest import make_user

D = date.fromisoformat


def rule(rate="5", channel=None, start="2024-01-01", end=None, enterprise=1, id_=0) -> ContributionRule:
    return ContributionRule(enterprise, 9, Decimal(rate), Channel(channel) if channel else None, D(start),
                            D(end) if end else None, id_)  # fmt: skip


def refused(call, reason: Rejection) -> None:
    with pytest.raises(LedgerError) as caught:
        call()
    assert caught.value.reason == reason


# --- the domain --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        (85000, "5", 4250),  # 850.00 x 5 % = 42.50
        (59150, "2.5", 1479),  # 591.50 x 2.5 % = 14.7875 -> 14.79
        (129460, "2.5", 3237),  # 1,294.60 x 2.5 % = 32.365 -> 32.37 (half-up; half-even would give 32.36)
        (1, "50", 1),  # 0.005 baht -> 0.01: half a satang rounds up
        (1, "49.99", 0),
        (99999, "0", 0),
        (10**14 - 1, "100", 10**14 - 1),
    ],
)
def test_a_contribution_is_rate_times_amount_rounded_half_up_once(amount, rate, expected):
    assert contribution_satang(amount, Decimal(rate)) == expected


def test_the_rule_in_force_prefers_the_channel_and_follows_the_dates():
    general = rule("3", id_=1)
    online = rule("2.5", "online_shop", id_=2)
    old_market = rule("3", "market", end="2024-05-31", id_=3)
    new_market = rule("4", "market", start="2024-06-01", id_=4)
    rules = [general, online, old_market, new_market]
    assert rule_in_force(rules, channel=Channel.online_shop, on=D("2024-06-08")) is online
    assert rule_in_force(rules, channel=Channel.retailer, on=D("2024-06-08")) is general
    assert rule_in_force(rules, channel=Channel.market, on=D("2024-05-31")) is old_market
    assert rule_in_force(rules, channel=Channel.market, on=D("2024-06-01")) is new_market
    assert rule_in_force(rules, channel=Channel.market, on=D("2023-12-31")) is None


def test_rules_of_one_enterprise_and_channel_may_not_overlap():
    assert overlaps(rule(end="2024-05-31"), rule(start="2024-05-31"))  # a common day
    assert not overlaps(rule(end="2024-05-31"), rule(start="2024-06-01"))
    assert not overlaps(rule(), rule(channel="market"))  # a rule for all channels is a channel of its own
    assert not overlaps(rule(), rule(enterprise=2))
    assert overlaps(rule(start="2025-01-01"), rule(end="2030-01-01"))  # open-ended
    refused(lambda: refuse_overlap(rule(start="2024-06-01"), [rule(id_=7)]), Rejection.overlapping_rules)
    refuse_overlap(rule(id_=7), [rule(id_=7)])  # a rule does not overlap itself
    refused(lambda: check_rule(rule(rate="100.01")), Rejection.rate_out_of_range)
    refused(lambda: check_rule(rule(start="2024-06-01", end="2024-05-31")), Rejection.invalid_date_range)


def test_a_settlement_pays_the_oldest_sales_first_and_an_excess_only_as_an_advance():
    owed = [Owed(3, D("2024-06-08"), 3240), Owed(4, D("2024-06-08"), 1479), Owed(1, D("2024-06-01"), 100)]
    assert allocate_settlement(2100, owed, advance=False).allocations == ((1, 100), (3, 2000))
    plan = allocate_settlement(5000, owed, advance=True)
    assert plan.allocations == ((1, 100), (3, 3240), (4, 1479)) and plan.advance_satang == 181
    refused(lambda: allocate_settlement(5000, owed, advance=False), Rejection.settlement_exceeds_owed)
    refused(lambda: allocate_settlement(0, owed, advance=True), Rejection.amount_must_be_positive)
    assert allocate_settlement(700, [], advance=True).advance_satang == 700


def test_undoing_a_settlement_takes_back_its_advance_and_what_reversed_sales_returned():
    plan = plan_settlement_reversal([(3240, True), (100, False), (1479, True)], advance_satang=181,
                                    advance_held_satang=281)  # fmt: skip
    assert (plan.reopened_satang, plan.advance_taken_satang, plan.returned_satang) == (4719, 281, 100)
    refused(lambda: plan_settlement_reversal([(100, False)], advance_satang=181, advance_held_satang=280),
            Rejection.settlement_advance_used)  # fmt: skip
    assert plan_settlement_reversal([], advance_satang=0, advance_held_satang=0).advance_taken_satang == 0


def test_a_refund_pays_back_at_most_the_advance_held_beyond_what_is_owed():
    check_advance_refund(5000, advance_held_satang=5000, owed_satang=0)
    check_advance_refund(3000, advance_held_satang=5000, owed_satang=2000)
    refused(lambda: check_advance_refund(3001, advance_held_satang=5000, owed_satang=2000),
            Rejection.refund_exceeds_advance)  # fmt: skip
    refused(lambda: check_advance_refund(1, advance_held_satang=100, owed_satang=500), Rejection.refund_exceeds_advance)
    refused(lambda: check_advance_refund(0, advance_held_satang=100, owed_satang=0), Rejection.amount_must_be_positive)


def test_only_the_government_s_money_received_goes_through_codi():
    check_codi_leg(MatchingSource.government, MatchingKind.received)
    for source, kind in [(MatchingSource.government, MatchingKind.due),
                         (MatchingSource.local_authority, MatchingKind.received),
                         (MatchingSource.donor, MatchingKind.received)]:  # fmt: skip
        refused(lambda source=source, kind=kind: check_codi_leg(source, kind), Rejection.invalid_request)


def test_members_owe_a_baht_a_day_counted_by_how_often_they_pay():
    june = {"period_from": D("2024-06-01"), "period_to": D("2024-06-30"), "daily_satang": 100}
    assert member_contribution_expected(member_count=120, frequency=Frequency.daily, **june) == 120 * 30 * 100
    assert member_contribution_expected(member_count=1, frequency=Frequency.monthly, period_from=D("2024-01-01"),
                                        period_to=D("2024-03-31"), daily_satang=100) == 90 * 100  # fmt: skip
    assert member_contribution_expected(member_count=2, frequency=Frequency.yearly, period_from=D("2024-01-01"),
                                        period_to=D("2024-12-31"), daily_satang=100) == 2 * 365 * 100  # fmt: skip
    refused(lambda: member_contribution_expected(member_count=0, frequency=Frequency.daily, **june),
            Rejection.invalid_request)  # fmt: skip
    backwards = {**june, "period_from": D("2024-07-01")}
    refused(lambda: member_contribution_expected(member_count=1, frequency=Frequency.daily, **backwards),
            Rejection.invalid_period)  # fmt: skip


def test_administration_stays_within_its_cap_unless_overridden():
    cap = admin_cap(inflows_satang=1_157_661, spent_satang=30_000, cap_percent=Decimal(20))
    assert cap == AdminCap(231_532, 30_000) and cap.room_satang() == 201_532  # 11,576.61 x 20 % = 2,315.322
    check_admin_cost(201_532, cap, overridden=False)
    refused(lambda: check_admin_cost(201_533, cap, overridden=False), Rejection.administration_cap_exceeded)
    check_admin_cost(10**9, cap, overridden=True)
    assert admin_cap(inflows_satang=-5, spent_satang=0, cap_percent=Decimal(20)).cap_satang == 0


def test_benefit_types_product_lines_and_ages():
    assert benefit_type("old_age") is BenefitType.old_age
    refused(lambda: benefit_type("wedding"), Rejection.unknown_benefit_type)
    check_product_lines(129_460, [126_000, 3_460])
    refused(lambda: check_product_lines(129_460, [126_000]), Rejection.invalid_request)
    refused(lambda: check_product_lines(0, [0]), Rejection.amount_must_be_positive)
    on = D("2024-06-30")
    assert [age_bucket(D(d), on) for d in ("2024-06-30", "2024-05-31", "2024-05-30", "2024-04-01", "2024-03-31")] == [
        "0-30", "0-30", "31-60", "61-90", "over 90"]  # fmt: skip


def test_a_statement_always_adds_up_and_names_what_it_cannot_attribute():
    movements = {"1100": ("asset", 1_400), "3100": ("equity", -1000), "4100": ("income", -300),
                 "4400": ("income", -200), "4900": ("income", -5), "5100": ("expense", 100),
                 "5900": ("expense", 5)}  # fmt: skip
    s = compose_statement(opening_satang=10_000, closing_satang=11_400, movements_by_code=movements,
                          sales_by_enterprise={7: 150}, benefits_by_type={"death": 100})  # fmt: skip
    assert dict(s.inflows) == {"members": 300, "local_authority": 0, "government": 0, "sales_contributions": 200,
                               "donations": 0, "other_income": 5}  # fmt: skip
    assert s.sales_by_enterprise == ((7, 150), (0, 50)) and s.benefits_by_type == (("death", 100),)
    assert dict(s.outflows) == {"benefits": 100, "administration": 0, "other_expenses": 5}
    assert s.other_changes_satang == 1_000  # capital put in: 11,400 - 10,000 - (505 - 105)


# --- the worked example: a market day in the North ---------------------------------------------


def post(api, path: str, body: dict, key: str | None = None, status: int = 201) -> dict:
    response = api.post(path, body, key or f"{path}-{json.dumps(body, sort_keys=True)}"[:200])
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def network(api, db) -> dict:
    """A northern network: an incubation centre in Chiang Mai, the welfare fund of Mae Rim with
    50,000.00 baht of capital on 31 May 2024, and four community enterprises, each with a book:
    herbal compress balls and balm (Chiang Mai, with the centre), ginger soap (Lampang, with the
    centre) and chili paste (Nan, without)."""
    centre = post(api, "/v1/parties", {"kind": "incubation_centre", "name_th": "ศูนย์บ่มเพาะภาคเหนือ",
                                       "region": "north", "province": "Chiang Mai"})  # fmt: skip
    fund = post(api, "/v1/parties", {"kind": "welfare_fund", "name_th": "กองทุนสวัสดิการชุมชนตำบลแม่ริม",
                                     "name_en": "Mae Rim community welfare fund", "region": "north",
                                     "province": "Chiang Mai"})  # fmt: skip
    fund_book = post(api, "/v1/books", {"code": "WF-MAERIM", "kind": "welfare_fund", "name_th": "กองทุนแม่ริม",
                                        "party_id": fund["id"]})  # fmt: skip
    codes = {a["code"]: a["id"] for a in api.get(f"/v1/books/{fund_book['id']}/accounts").json()["data"]}
    capital = api.entry(fund_book["id"], [(codes["1100"], "50000.00"), (codes["3100"], "-50000.00")], day="2024-05-31")
    assert capital.status_code == 201, capital.text
    enterprises = {}
    for name, name_th, province, centre_id in [
        ("compress", "กลุ่มลูกประคบสมุนไพร", "Chiang Mai", centre["id"]),
        ("balm", "กลุ่มยาหม่องสมุนไพร", "Chiang Mai", centre["id"]),
        ("soap", "กลุ่มสบู่ขิง", "Lampang", centre["id"]),
        ("chili", "กลุ่มน้ำพริกแม่บ้าน", "Nan", None),
    ]:
        party = post(api, "/v1/parties", {"kind": "community_enterprise", "name_th": name_th, "region": "north",
                                          "province": province, "centre_id": centre_id})  # fmt: skip
        book = post(api, "/v1/books", {"code": f"CE-{name.upper()}", "kind": "enterprise", "name_th": name_th,
                                       "party_id": party["id"]})  # fmt: skip
        enterprises[name] = {"party_id": party["id"], "book_id": book["id"]}
    return {"fund": fund["id"], "fund_book": fund_book["id"], "centre": centre["id"], **enterprises}


def make_rules(api, net: dict) -> None:
    for name, rate, channel, start, end in [
        ("compress", "5", "market", "2024-01-01", None),
        ("balm", "3", None, "2024-01-01", None),
        ("balm", "2.5", "online_shop", "2024-01-01", None),
        ("soap", "2.5", None, "2024-01-01", None),
        ("chili", "3", "market", "2024-01-01", "2024-05-31"),
        ("chili", "4", "market", "2024-06-01", None),
    ]:
        post(api, "/v1/contribution-rules", {"enterprise_party_id": net[name]["party_id"], "fund_party_id": net["fund"],
                                             "rate_percent": rate, "channel": channel, "effective_from": start,
                                             "effective_to": end})  # fmt: skip


def sale_line(net, key, name, amount, channel="market", day="2024-06-08", lines=(), **extra) -> str:
    return json.dumps({"key": key, "enterprise_party_id": net[name]["party_id"], "effective_date": day,
                       "channel": channel, "amount": amount,
                       "lines": [{"product": p, "quantity": q, "amount": a} for p, q, a in lines], **extra},
                      ensure_ascii=False)  # fmt: skip


def market_day(net: dict) -> str:
    """The sales of Saturday 8 June 2024, one JSON line each, with what each contributes:"""
    return "\n".join([
        # 10 compress balls x 85.00 = 850.00 at 5 % (market)                = 42.50
        sale_line(net, "mrm-0608-01", "compress", "850.00", lines=[("ลูกประคบสมุนไพร", 10, "850.00")]),
        # 7 x 85.00 = 595.00 at 5 %                                          = 29.75
        sale_line(net, "mrm-0608-02", "compress", "595.00", lines=[("ลูกประคบสมุนไพร", 7, "595.00")]),
        # 24 jars of balm x 45.00 = 1,080.00 at 3 % (all channels)           = 32.40
        sale_line(net, "mrm-0608-03", "balm", "1080.00", lines=[("ยาหม่องสมุนไพร", 24, "1080.00")]),
        # 13 jars x 45.50 = 591.50 online at 2.5 % = 14.7875                 -> 14.79
        sale_line(net, "mrm-0608-04", "balm", "591.50", channel="online_shop"),
        # 36 bars of ginger soap x 35.00 + a gift set 34.60 = 1,294.60 at 2.5 % = 32.365 -> 32.37 (half-up)
        sale_line(net, "mrm-0608-05", "soap", "1294.60", lines=[("สบู่ขิง", 36, "1260.00"), ("ชุดของขวัญ", 1, "34.60")]),
        # 52 jars of chili paste x 60.00 = 3,120.00 at 4 % (the rule from 1 June) = 124.80
        sale_line(net, "mrm-0608-06", "chili", "3120.00", lines=[("น้ำพริกหนุ่ม", 52, "3120.00")]),
        # to a retailer on credit: no rule for that channel, recorded contributing nothing, as asked
        sale_line(net, "mrm-0608-07", "chili", "600.00", channel="retailer", payment="credit",
                  allow_zero_contribution=True),
        # the same without asking: refused                                    (no_rule_in_force)
        sale_line(net, "mrm-0608-08", "chili", "600.00", channel="retailer"),
    ])  # fmt: skip
    # contributions of the day: 42.50 + 29.75 + 32.40 + 14.79 + 32.37 + 124.80 = 276.61


def imported(api, body: str, content_type: str = "application/x-ndjson"):
    headers = {**api.headers(), "Content-Type": content_type}
    return api.client.post("/v1/sales/import", content=body.encode(), headers=headers)


def fund_post(api, net, what: str, body: dict) -> dict:
    return post(api, f"/v1/welfare-funds/{net['fund']}/{what}", body)


def test_a_market_day_of_a_northern_network(api, db, network):
    net = network
    make_rules(api, net)
    report = imported(api, market_day(net))
    assert report.status_code == 200, report.text
    day = report.json()
    assert (day["recorded"], day["replayed"]) == (7, 0)
    assert [(r["line"], r["reason"]) for r in day["rejected"]] == [(8, "no_rule_in_force")]
    sale_ids = [s["sale_id"] for s in day["sales"]]
    sales = [api.get(f"/v1/sales/{i}").json() for i in sale_ids]
    assert [s["contribution"] for s in sales] == ["42.50", "29.75", "32.40", "14.79", "32.37", "124.80", "0.00"]
    assert sales[4]["lines"][1] == {"product": "ชุดของขวัญ", "quantity": 1, "amount": "34.60"}
    assert sales[6]["fund_entry_id"] is None and sales[6]["payment"] == "credit"
    again = imported(api, market_day(net)).json()  # the same file again: nothing new
    assert (again["recorded"], again["replayed"], len(again["rejected"])) == (0, 7, 1)

    # The fund's own money in June: 120 members pay for June (120 x 30 x 1.00 = 3,600.00); the local
    # authority and the government each promise as much, a donor 500.00; the donor and part of the
    # local authority's promise are paid.
    members = fund_post(api, net, "member-contributions", {"effective_date": "2024-06-05",
                        "period_from": "2024-06-01", "period_to": "2024-06-30", "frequency": "monthly",
                        "member_count": 120, "amount": "3600.00"})  # fmt: skip
    assert members["expected"] == "3600.00"
    for source, amount in (("local_authority", "3600.00"), ("government", "3600.00"), ("donor", "500.00")):
        fund_post(api, net, "matching-contributions", {"source": source, "kind": "due", "amount": amount,
                                                       "effective_date": "2024-06-05"})  # fmt: skip
    fund_post(api, net, "matching-contributions", {"source": "donor", "kind": "received", "amount": "500.00",
                                                   "effective_date": "2024-06-07"})  # fmt: skip
    fund_post(api, net, "matching-contributions", {"source": "local_authority", "kind": "received",
                                                   "amount": "2000.00", "effective_date": "2024-06-12"})  # fmt: skip

    # Settlements on 10 June: compress balls pay both sales (42.50 + 29.75 = 72.25); ginger soap
    # pays 50.00 as an advance (32.37 owed, 17.63 held); balm pays 20.00 of its oldest sale (32.40).
    for name, amount, advance in (("compress", "72.25", False), ("soap", "50.00", True), ("balm", "20.00", False)):
        post(api, "/v1/settlements", {"enterprise_party_id": net[name]["party_id"], "fund_party_id": net["fund"],
                                      "amount": amount, "effective_date": "2024-06-10",
                                      "advance": advance})  # fmt: skip
    assert api.get(f"/v1/sales/{sale_ids[2]}").json()["outstanding"] == "12.40"  # 32.40 - 20.00

    fund_post(api, net, "benefits", {"benefit_type": "illness", "beneficiary_ref": "M-0042", "amount": "1000.00",
                                     "effective_date": "2024-06-11"})  # fmt: skip
    fund_post(api, net, "benefits", {"benefit_type": "birth", "beneficiary_ref": "M-0107", "amount": "500.00",
                                     "effective_date": "2024-06-12"})  # fmt: skip
    fund_post(api, net, "administration-costs", {"amount": "300.00", "effective_date": "2024-06-13",
                                                 "description": "Bookkeeping course"})  # fmt: skip
    # The online balm sale is refunded: reversed, with its 14.79; a second market day for the
    # soap (400.00 x 2.5 % = 10.00) is settled from its advance, which keeps 17.63 - 10.00 = 7.63.
    post(api, f"/v1/sales/{sale_ids[3]}/reversal", {"reason": "returned by the buyer"})
    soap_again = post(api, "/v1/sales", {"enterprise_party_id": net["soap"]["party_id"], "channel": "market",
                                         "effective_date": "2024-06-14", "amount": "400.00"})  # fmt: skip
    assert (soap_again["contribution"], soap_again["advance_applied"], soap_again["outstanding"]) == (
        "10.00", "10.00", "0.00")  # fmt: skip

    statement = api.get(f"/v1/welfare-funds/{net['fund']}/statement", **{"from": "2024-06-01", "to": "2024-06-30"})
    s = statement.json()
    # sales contributions: 276.61 - 14.79 + 10.00 = 271.82; inflows 3 x 3,600.00 + 271.82 + 500.00 = 11,571.82
    assert {x["name"]: x["amount"] for x in s["inflows"]} == {
        "members": "3600.00", "local_authority": "3600.00", "government": "3600.00",
        "sales_contributions": "271.82", "donations": "500.00", "other_income": "0.00"}  # fmt: skip
    by_enterprise = {x["enterprise_party_id"]: x["amount"] for x in s["sales_contributions_by_enterprise"]}
    assert by_enterprise == {net["compress"]["party_id"]: "72.25", net["balm"]["party_id"]: "32.40",
                             net["soap"]["party_id"]: "42.37", net["chili"]["party_id"]: "124.80"}  # fmt: skip
    assert {x["name"]: x["amount"] for x in s["benefits_by_type"]} == {"birth": "500.00", "illness": "1000.00"}
    assert {x["name"]: x["amount"] for x in s["outflows"]} == {"benefits": "1500.00", "administration": "300.00",
                                                                "other_expenses": "0.00"}  # fmt: skip
    # closing = 50,000.00 + 11,571.82 - 1,800.00 = 59,771.82: cash 54,442.25 (50,000 + 3,600 + 500
    # + 2,000 + 142.25 settled - 1,500 - 300) + owed by enterprises 137.20 (balm 12.40, chili
    # 124.80) + matching promised and unpaid 5,200.00 (local authority 1,600, government 3,600)
    # - the soap's advance 7.63
    figures = ("opening_balance", "total_inflows", "total_outflows", "other_changes", "closing_balance")
    assert [s[name] for name in figures] == ["50000.00", "11571.82", "1800.00", "0.00", "59771.82"]
    csv_text = api.client.get(f"/v1/welfare-funds/{net['fund']}/statement?from=2024-06-01&to=2024-06-30&format=csv",
                              headers=api.headers()).text  # fmt: skip
    assert "closing_balance,,59771.82" in csv_text and "inflow,sales_contributions,271.82" in csv_text

    owed = api.get(f"/v1/welfare-funds/{net['fund']}/receivables", as_of="2024-06-14").json()
    assert owed["total"] == "137.20"
    assert {r["enterprise_party_id"]: (r["outstanding"], r["by_age"]["0-30"]) for r in owed["data"]} == {
        net["balm"]["party_id"]: ("12.40", "12.40"), net["chili"]["party_id"]: ("124.80", "124.80")}  # fmt: skip
    matching = api.get(f"/v1/welfare-funds/{net['fund']}/matching-contributions").json()["by_source"]
    assert [(m["source"], m["due"], m["received"], m["outstanding"]) for m in matching] == [
        ("local_authority", "3600.00", "2000.00", "1600.00"), ("government", "3600.00", "0.00", "3600.00"),
        ("donor", "500.00", "500.00", "0.00")]  # fmt: skip

    # The soap group's own view: 1,294.60 + 400.00 sold, 32.37 + 10.00 contributed and settled,
    # 50.00 paid, 7.63 still held in advance.
    soap = api.as_(make_user(db, "soap", "enterprise", party_id=net["soap"]["party_id"]))
    view = soap.get(f"/v1/enterprises/{net['soap']['party_id']}/sales-summary", **{"from": "2024-06-01"}).json()
    assert [(f["sales_count"], f["sales"], f["contributions"], f["settled"], f["outstanding"], f["paid"],
             f["advance_held"]) for f in view["by_fund"]] == [
        (2, "1694.60", "42.37", "42.37", "0.00", "50.00", "7.63")]  # fmt: skip

    totals = api.get("/v1/programme-totals", **{"from": "2024-06-01", "to": "2024-06-30"}).json()
    # live sales: 1,445.00 compress + 1,080.00 balm + 1,694.60 soap + 3,720.00 chili = 7,939.60
    assert (totals["total"]["sales_count"], totals["total"]["sales"], totals["total"]["contributions"]) == (
        7, "7939.60", "271.82")  # fmt: skip
    assert {r["key"]: (r["sales"], r["contributions"]) for r in totals["by_province"]} == {
        "Chiang Mai": ("2525.00", "104.65"), "Lampang": ("1694.60", "42.37"), "Nan": ("3720.00", "124.80")}  # fmt: skip
    assert {r["key"]: r["contributions"] for r in totals["by_centre"]} == {net["centre"]: "147.02", None: "124.80"}
    market = api.get("/v1/programme-totals", **{"from": "2024-06-01", "to": "2024-06-30", "channel": "market"})
    assert market.json()["total"]["contributions"] == "271.82"  # the online sale is reversed, the retailer's gave 0
    assert_books_agree(api, net)


def assert_books_agree(api, net: dict) -> None:
    """Every book balances, and each enterprise's payable to the fund is the fund's receivable."""
    fund_accounts = api.get(f"/v1/books/{net['fund_book']}/accounts", limit=500).json()["data"]
    for name in ("compress", "balm", "soap", "chili"):
        book = net[name]["book_id"]
        trial = api.get(f"/v1/books/{book}/trial-balance").json()
        assert trial["total_debit"] == trial["total_credit"]
        payable = sum(Decimal(a["balance"]) for a in api.get(f"/v1/books/{book}/accounts").json()["data"]
                      if a["code"].startswith("2200-F"))  # fmt: skip
        receivable = sum(Decimal(a["balance"]) for a in fund_accounts
                         if a["code"] == f"1200-E{net[name]['party_id']}")  # fmt: skip
        assert payable == -receivable
    trial = api.get(f"/v1/books/{net['fund_book']}/trial-balance").json()
    assert trial["total_debit"] == trial["total_credit"]



def test_accounts_loaded_by_code_find_the_others_without_making_them_again(db, network):
    """`store.welfare.Accounts` with a list of codes loads those only; an account outside the
    list (a chart account, a pair's sub-account) is found, not made a second time."""
    now, suffix = datetime(2024, 6, 1, tzinfo=UTC), f"F{network['fund']}"
    with db.write() as connection:
        book = books.get_book(connection, network["compress"]["book_id"])
        full = Accounts(connection, [book["id"]], now)
        payable = full.sub(book, "2200", suffix, name_en="Mae Rim", name_th="แม่ริม", party_id=network["fund"])
        partial = Accounts(connection, [book["id"]], now, codes={"1100"})
        assert set(partial.ids.values()) == {full(book, "1100")}
        assert partial(book, "4100") == full(book, "4100")
        assert partial.sub(book, "2200", suffix, name_en="Mae Rim", name_th="แม่ริม", party_id=None) == payable
