"""Co-investment: the pure domain (`ledger.equity`) by example, then worked examples through the
store with hand-checked figures that must equal the books' balances:

- a soap-making enterprise of 20 members in which the fund takes 30 % and receives a dividend;
- a partial exit at a gain after two purchases at different prices (average cost);
- a loss on exit after an impairment.
"""

from datetime import date
from decimal import Decimal

import pytest

from ledger.accounts import EntryDraft, Posting
from ledger.equity import (
    Declaration,
    EventKind,
    Holding,
    Policy,
    Position,
    RegisterEvent,
    Sale,
    ShareClass,
    apply_event,
    cap_table,
    check_holder_cap,
    disposal,
    disposals,
    distribute,
    holdings_as_of,
    impair,
    paid_up_days,
    par_plus_retained_earnings,
    period_years,
    portion,
    reverse_impairment,
    shares_issued,
)
from ledger.errors import LedgerError, Rejection
from store import books, equity, journal, users
from tests.conftest import NOW

TODAY = date(2024, 6, 14)
ORD = ShareClass(1, par_value_satang=100_00, votes_per_share=1)
PREF = ShareClass(2, par_value_satang=1_000_00, votes_per_share=0)
CLASSES = {1: ORD, 2: PREF}
D1, D2, D3 = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)


def issue(party, shares, on=D1, class_id=1, price=None, paid=None) -> RegisterEvent:
    price = shares * CLASSES[class_id].par_value_satang if price is None else price
    return RegisterEvent(EventKind.issue, on, class_id, shares, to_party=party, amount_satang=price,
                         paid_satang=price if paid is None else paid)  # fmt: skip


def refused(reason: Rejection):
    return pytest.raises(LedgerError, match=f"^{reason}:")


# --- the register -------------------------------------------------------------------------------


def test_a_transfer_carries_its_share_of_committed_and_paid_capital():
    # 3 shares committed at 300.00, 100.00 paid; 1 share leaves with a third of each, half-up
    held = apply_event({}, issue(10, 3, paid=100_00))
    after = apply_event(held, RegisterEvent(EventKind.transfer, D2, 1, 1, to_party=20, from_party=10))
    assert after[(10, 1)] == Holding(2, 200_00, 66_67) and after[(20, 1)] == Holding(1, 100_00, 33_33)
    last = apply_event(after, RegisterEvent(EventKind.transfer, D2, 1, 2, to_party=20, from_party=10))
    assert last[(10, 1)] == Holding() and last[(20, 1)] == Holding(3, 300_00, 100_00)  # the last share takes all


def test_a_payment_is_at_most_what_is_owed_and_moves_no_shares():
    held = apply_event({}, issue(10, 5, paid=0))
    paid = apply_event(held, RegisterEvent(EventKind.payment, D2, 1, 0, to_party=10, amount_satang=300_00))
    assert paid[(10, 1)] == Holding(5, 500_00, 300_00)
    with refused(Rejection.paid_exceeds_committed):
        apply_event(paid, RegisterEvent(EventKind.payment, D2, 1, 0, to_party=10, amount_satang=200_01))


def test_no_holder_goes_below_zero():
    held = apply_event({}, issue(10, 5))
    for kind, to in ((EventKind.transfer, 20), (EventKind.buy_back, None), (EventKind.cancellation, None)):
        with refused(Rejection.insufficient_shares):
            apply_event(held, RegisterEvent(kind, D2, 1, 6, to_party=to, from_party=10))
    with refused(Rejection.insufficient_shares):
        apply_event(held, RegisterEvent(EventKind.transfer, D2, 1, 1, to_party=10, from_party=30))


def test_shares_issued_equal_the_holdings_at_each_date():
    events = [issue(10, 70), issue(20, 30), RegisterEvent(EventKind.transfer, D2, 1, 20, to_party=30, from_party=10),
              RegisterEvent(EventKind.buy_back, D3, 1, 10, from_party=20, amount_satang=1_500_00)]  # fmt: skip
    for day, expected in ((D1, 100), (D2, 100), (D3, 90)):
        held = holdings_as_of(events, day, CLASSES)
        assert shares_issued(events, day) == {1: expected} == {1: sum(h.shares for h in held.values())}


def test_the_cap_table_gives_percentages_that_sum_to_100():
    # 1, 1 and 1 shares: a third each, 33.3334 + 33.3333 + 33.3333 (the first takes the residue)
    table = cap_table(holdings_as_of([issue(10, 1), issue(20, 1), issue(30, 1)], D1, CLASSES), CLASSES)
    assert [str(line.percent_of_class) for line in table.lines] == ["33.3334", "33.3333", "33.3333"]
    assert sum(h.percent_of_capital for h in table.holders) == 100


def test_capital_and_votes_weigh_classes_differently():
    # 10 ordinary (1,000.00, 10 votes) to party 10; 1 preference (1,000.00, no vote) to party 20
    table = cap_table(holdings_as_of([issue(10, 10), issue(20, 1, class_id=2)], D1, CLASSES), CLASSES)
    by_party = {h.party_id: h for h in table.holders}
    assert (str(by_party[10].percent_of_capital), str(by_party[10].percent_of_votes)) == ("50.0000", "100.0000")
    assert (by_party[20].nominal_satang, by_party[20].votes) == (1_000_00, 0)


def test_the_holder_cap_is_checked_for_those_who_gained():
    # 20 % cap: 2 of 10 shares is at the cap, 3 is over it
    held = holdings_as_of([issue(10, 8), issue(20, 2)], D1, CLASSES)
    check_holder_cap(held, CLASSES, Decimal(20), [20])
    over = apply_event(held, RegisterEvent(EventKind.transfer, D2, 1, 1, to_party=20, from_party=10))
    with refused(Rejection.holder_cap_exceeded):
        check_holder_cap(over, CLASSES, Decimal(20), [20])
    check_holder_cap(over, CLASSES, Decimal(20), [])  # nobody gained: nobody is refused
    check_holder_cap(over, CLASSES, None, [20])


# --- the fund's position ------------------------------------------------------------------------


def test_average_cost_impairment_and_disposal():
    # 1,000 shares for 100,000.00, then 500 for 65,000.00: 1,500 at 110.00 each on average
    held = Position(shares=1_500, cost_satang=165_000_00)
    sold = disposal(held, shares=600, proceeds_satang=90_000_00)
    assert sold.cost_satang == 66_000_00 and sold.gain_satang == 24_000_00  # 600 x 110 = 66,000; 90,000 - 66,000
    impaired = impair(held, 65_000_00)
    assert impaired.carrying_satang == 100_000_00
    with refused(Rejection.impairment_exceeds_carrying_amount):
        impair(impaired, 100_000_01)
    with refused(Rejection.reversal_exceeds_impairment):
        reverse_impairment(impaired, 65_000_01)
    with refused(Rejection.insufficient_shares):
        disposal(held, shares=1_501, proceeds_satang=1)
    with refused(Rejection.shares_must_be_positive):
        disposal(held, shares=0, proceeds_satang=1)


def test_portion_rounds_half_up_and_gives_the_last_share_everything():
    assert [portion(5, n, 2) for n in (0, 1, 2)] == [0, 3, 5]  # 2.5 rounds up
    assert portion(10**14, 1, 3) + portion(10**14 - portion(10**14, 1, 3), 2, 2) == 10**14


# --- distributions ------------------------------------------------------------------------------


def test_days_held_count_capital_at_the_end_of_each_day():
    # 100.00 paid from 1 January, another 100.00 from 11 January; 31 days of January
    payment = RegisterEvent(EventKind.payment, date(2024, 1, 11), 1, 0, to_party=10, amount_satang=100_00)
    events = [issue(10, 2, on=D1, paid=100_00), payment]
    weights = paid_up_days(events, D1, date(2024, 1, 31), CLASSES)
    assert weights == {(10, 1): 100_00 * 10 + 200_00 * 21}


def test_a_policy_caps_the_dividend_and_floors_the_reserve():
    declaration = Declaration(D1, date(2024, 12, 31), 10_000_00, Decimal(10), Decimal("10.5"))
    events = [issue(10, 10)]
    with refused(Rejection.dividend_rate_above_cap):
        distribute(Policy(), declaration, events, CLASSES)
    with refused(Rejection.reserve_below_minimum):
        distribute(Policy(reserve_min_percent=Decimal(15)), declaration, events, CLASSES)
    with refused(Rejection.distribution_exceeds_profit):  # 1,000 + 105 > 1,000.00 of profit is refused
        distribute(Policy(dividend_cap_percent=None), Declaration(D1, date(2024, 12, 31), 1_000_00, Decimal(100),
                                                                  Decimal("10.5")), events, CLASSES)  # fmt: skip


def test_a_leap_year_is_366_days_so_a_whole_year_earns_exactly_the_rate():
    """FY2567 (1 Oct 2023 - 30 Sep 2024) holds 29 February 2024: 366 days. 10,000.00 paid up all
    year at 6 % is 600.00; actual/365 would have paid 10,000 x 6 % x 366/365 = 601.64, more than
    the rate (and than a cap of 6 % allows)."""
    start, end = date(2023, 10, 1), date(2024, 9, 30)
    assert period_years(start, end) == [(start, end, 366)]
    events = [issue(10, 100, on=date(2023, 9, 1))]
    result = distribute(Policy(), Declaration(start, end, 50_000_00, Decimal(10), Decimal(6)), events, CLASSES)
    assert result.dividend_satang == 600_00
    # half of it, 1 Oct 2023 - 31 Mar 2024, is 183 of the year's 366 days: exactly 300.00
    half = Declaration(start, date(2024, 3, 31), 50_000_00, Decimal(10), Decimal(6))
    assert distribute(Policy(), half, events, CLASSES).dividend_satang == 300_00
    # two years from 1 Jan 2024: 366 days at 6 % and 365 at 6 %: 1,200.00
    two = Declaration(date(2024, 1, 1), date(2025, 12, 31), 50_000_00, Decimal(10), Decimal(6))
    assert distribute(Policy(), two, events, CLASSES).dividend_satang == 1_200_00


def test_a_dividend_declared_as_an_amount_is_split_by_share_days():
    """10.00 to share out over 2024 (366 days): party 10 holds 100.00 paid all year, party 20
    100.00 from 2 July (183 days). Share-days 36,600 and 18,300 (x 100): 6.67 and 3.33, the odd
    satang to the larger remainder; the amount comes to 10 / (100 + 50) = 6.666667 % a year. The
    cooperative cap of 10 % a year allows at most 15.00."""
    events = [issue(10, 1, on=date(2023, 12, 1)), issue(20, 1, on=date(2024, 7, 2))]

    def declaration(amount: int) -> Declaration:
        return Declaration(date(2024, 1, 1), date(2024, 12, 31), 5_000_00, Decimal(10), None, dividend_satang=amount)

    result = distribute(Policy(), declaration(10_00), events, CLASSES)
    assert [(p.party_id, p.weight, p.amount_satang) for p in result.parts] == [
        (10, 100_00 * 366, 6_67), (20, 100_00 * 183, 3_33)]  # fmt: skip
    assert (result.dividend_satang, result.dividend_rate_percent) == (10_00, Decimal("6.666667"))
    assert distribute(Policy(), declaration(15_00), events, CLASSES).dividend_satang == 15_00
    with refused(Rejection.dividend_rate_above_cap):
        distribute(Policy(), declaration(15_01), events, CLASSES)
    both = Declaration(date(2024, 1, 1), date(2024, 12, 31), 5_000_00, Decimal(10), Decimal(5), dividend_satang=1)
    with refused(Rejection.invalid_request):
        distribute(Policy(), both, events, CLASSES)


def test_an_exit_to_two_buyers_takes_cost_as_one_disposal_would():
    # 3 shares cost 100 satang with 30 impaired; 1 sold for 50 and 1 for 20
    held = Position(shares=3, cost_satang=100, impairment_satang=30)
    first, second = disposals(held, [Sale(1, 50), Sale(1, 20)])
    assert (first.cost_satang, first.impairment_satang, first.gain_satang) == (34, 10, 26)  # 50 - (34 - 10)
    assert (second.cost_satang, second.impairment_satang, second.gain_satang) == (33, 10, -3)  # 20 - (33 - 10)
    assert disposal(held, shares=2, proceeds_satang=70) == type(first)(67, 20, 23)
    with refused(Rejection.insufficient_shares):
        disposals(held, [Sale(2, 1), Sale(2, 1)])
    with refused(Rejection.shares_must_be_positive):
        disposals(held, [Sale(1, 1), Sale(0, 1)])


def test_par_plus_retained_earnings_per_share():
    # 2,000 shares of 100.00 and 50,000.00 retained: 125.00 a share; 600 shares are 75,000.00
    price = par_plus_retained_earnings(shares=600, par_value_satang=100_00, retained_earnings_satang=50_000_00,
                                       shares_outstanding=2_000)  # fmt: skip
    assert price == 75_000_00
    # accumulated losses of 1.00 over 3 shares: 100.00 - 0.3333 = 99.67 a share, rounded once
    assert par_plus_retained_earnings(shares=1, par_value_satang=100_00, retained_earnings_satang=-100,
                                      shares_outstanding=3) == 99_67  # fmt: skip
    assert par_plus_retained_earnings(shares=1, par_value_satang=1, retained_earnings_satang=-10_00,
                                      shares_outstanding=1) == 0  # fmt: skip


# --- worked examples through the store -----------------------------------------------------------


@pytest.fixture
def co(db):
    """The fund (50,000,000.00 in the bank), an officer and an approver, and a way to make an
    enterprise with its own book, a class of 100.00 shares and its members."""
    with db.write() as c:
        fund = books.create_book(c, {"code": "FUND", "kind": "fund", "name_th": "กองทุน พอช."}, now=NOW)
        codes = {a["code"]: a["id"] for a in books.book_accounts(c, fund["id"])}
        officer = users.add_user(c, name="officer", role="officer", party_id=None, now=NOW)[0]
        approver = users.add_user(c, name="approver", role="approver", party_id=None, now=NOW)[0]
        capital = EntryDraft(
            fund["id"],
            date(2022, 10, 1),
            "manual",
            "capital",
            (Posting(codes["1100"], 50_000_000_00), Posting(codes["3100"], -50_000_000_00)),
        )
        journal.record_entry(c, capital, recorded_by=officer, recorded_at=NOW)  # fmt: skip
        equity.set_approval_threshold(c, None, 1_000_000_00, user_id=officer, now=NOW)
    return {"db": db, "fund": fund["id"], "codes": codes, "officer": officer, "approver": approver}


def enterprise(co, name: str, members: int, shares_each: int, on: date, *, own_book: bool = True) -> dict:
    with co["db"].write() as c:
        party = books.create_party(c, {"kind": "community_enterprise", "name_th": name, "province": "Nan",
                                       "region": "north"}, now=NOW)["id"]  # fmt: skip
        book = None
        if own_book:
            book = books.create_book(c, {"code": f"E{party}", "kind": "enterprise", "name_th": name,
                                         "party_id": party}, now=NOW)["id"]  # fmt: skip
        share = equity.create_share_class(
            c,
            party,
            {"code": "ORD", "name_th": "หุ้นสามัญ", "par_value_satang": 100_00, "votes_per_share": 1},
            user_id=co["officer"],
            now=NOW,
        )["id"]
        people = [books.create_party(c, {"kind": "other", "name_th": f"สมาชิก {i}"}, now=NOW)["id"]
                  for i in range(1, members + 1)]  # fmt: skip
        events = [RegisterEvent(EventKind.issue, on, share, shares_each, to_party=p, amount_satang=shares_each * 100_00,
                                paid_satang=shares_each * 100_00) for p in people]  # fmt: skip
        equity.record_register_events(c, party, events, today=TODAY, user_id=co["officer"], now=NOW)
    return {"party": party, "book": book, "class": share, "members": people}


def invest(co, ent, shares: int, price: int, on: date) -> int:
    with co["db"].write() as c:
        order = equity.PurchaseOrder(shares, price, on)
        return equity.record_investment(c, book_id=None, enterprise_party_id=ent["party"], share_class_id=ent["class"],
                                        order=order, today=TODAY, user_id=co["officer"], now=NOW)["id"]  # fmt: skip


def balances(co, book_id: int) -> dict[str, int]:
    """Balances by code, sub-accounts rolled into their control account's code and their own."""
    with co["db"].read() as c:
        return {a["code"]: a["balance_satang"] for a in books.book_accounts(c, book_id)}


def test_soap_enterprise_of_20_members_where_the_fund_takes_30_percent_and_a_dividend(co):
    """A herbal soap enterprise of 20 members, each holding 70 shares of 100.00 fully paid from
    1 October 2022 (1,400 shares, 140,000.00). The fund buys 600 new shares at par the same day
    for 60,000.00: 600 of 2,000 shares is 30 %. For FY2566 (1 Oct 2022 - 30 Sep 2023, 365 days)
    the enterprise makes a net profit of 50,000.00 and declares:

        reserve    10 % of 50,000.00                                    =  5,000.00
        dividend   6 % a year on 200,000.00 paid up for 365/365 days    = 12,000.00
                   the fund 60,000 x 6 %  = 3,600.00; a member 7,000 x 6 % = 420.00
        patronage  8,000.00 by business: ten members did 3,000.00 each, ten 1,000.00 (40,000.00)
                   -> 600.00 and 200.00 each
        retained   50,000 - 5,000 - 12,000 - 8,000                       = 25,000.00
    """
    start = date(2022, 10, 1)
    soap = enterprise(co, "วิสาหกิจชุมชนสบู่สมุนไพรบ้านนาซาว", 20, 70, start)
    investment = invest(co, soap, 600, 60_000_00, start)
    with co["db"].read() as c:
        table = equity.cap_table_as_of(c, soap["party"], start)["table"]
        fund_party = books.get_book(c, co["fund"])["party_id"]
    by_holder = {h.party_id: h for h in table.holders}
    assert str(by_holder[fund_party].percent_of_capital) == "30.0000" and len(table.holders) == 21
    assert {str(h.percent_of_capital) for p, h in by_holder.items() if p != fund_party} == {"3.5000"}
    business = tuple((m, 3_000_00 if i < 10 else 1_000_00) for i, m in enumerate(soap["members"]))
    declaration = Declaration(start, date(2023, 9, 30), 50_000_00, Decimal(10), Decimal(6), 8_000_00, business)
    with co["db"].write() as c:
        declared = equity.declare(c, soap["party"], declaration, declared_on=date(2023, 12, 15), today=TODAY,
                                  user_id=co["officer"], now=NOW)  # fmt: skip
    assert (declared["reserve_satang"], declared["dividend_satang"], declared["patronage_satang"]) == (
        5_000_00, 12_000_00, 8_000_00)  # fmt: skip
    parts = {(p["holder_party_id"], p["kind"]): p["amount_satang"] for p in declared["parts"]}
    assert parts[(fund_party, "dividend")] == 3_600_00
    assert {parts[(m, "dividend")] for m in soap["members"]} == {420_00}
    assert [parts[(m, "patronage")] for m in soap["members"]] == [600_00] * 10 + [200_00] * 10
    fund, shop = balances(co, co["fund"]), balances(co, soap["book"])
    sub = f"-P{soap['party']}"
    assert (fund["1300" + sub], fund["1310" + sub], fund["4300"]) == (60_000_00, 3_600_00, -3_600_00)
    assert (shop["1100"], shop["3100"], shop["3200"], shop["3300"]) == (200_000_00, -200_000_00, -5_000_00, 25_000_00)
    assert sum(v for k, v in shop.items() if k.startswith("2300-")) == -(12_000_00 + 8_000_00)
    with co["db"].write() as c:
        equity.pay(c, soap["party"], declared["id"], paid_on=date(2024, 1, 5), holders=None, today=TODAY,
                   user_id=co["officer"], now=NOW)  # fmt: skip
    fund, shop = balances(co, co["fund"]), balances(co, soap["book"])
    assert (fund["1310" + sub], fund["1100"]) == (0, 50_000_000_00 - 60_000_00 + 3_600_00)
    assert shop["1100"] == 200_000_00 - 20_000_00 and all(v == 0 for k, v in shop.items() if k.startswith("2300-"))
    with co["db"].read() as c:
        figures = equity.figures_of(c, [equity.get_investment(c, investment)], TODAY)[investment]
    assert (figures.dividends_declared_satang, figures.dividends_received_satang) == (3_600_00, 3_600_00)


def test_a_partial_exit_at_a_gain_at_average_cost(co):
    """The fund buys 1,000 shares for 100,000.00 and later 500 more for 65,000.00: 1,500 shares
    costing 165,000.00, 110.00 each on average. It sells 600 to a member for 90,000.00 (150.00
    each): 600 x 110.00 = 66,000.00 leaves the investment and 24,000.00 is a gain. 900 shares
    stay, costing 99,000.00 (still 110.00 each)."""
    rice = enterprise(co, "วิสาหกิจชุมชนข้าวอินทรีย์", 10, 400, date(2023, 1, 2))
    investment = invest(co, rice, 1_000, 100_000_00, date(2023, 2, 1))
    with co["db"].write() as c:
        equity.add_purchase(c, investment, equity.PurchaseOrder(500, 65_000_00, date(2023, 8, 1)), today=TODAY,
                            user_id=co["officer"], now=NOW)  # fmt: skip
        equity.exit_investment(c, investment, date(2024, 3, 1), [equity.ExitSale(rice["members"][0], 600, 90_000_00)],
                               today=TODAY, user_id=co["officer"], now=NOW)  # fmt: skip
        held = equity.position(equity.investment_events(c, [investment])[investment])
        table = equity.cap_table_as_of(c, rice["party"], TODAY)["table"]
    assert (held.shares, held.cost_satang, held.realised_gain_satang) == (900, 99_000_00, 24_000_00)
    fund, sub = balances(co, co["fund"]), f"-P{rice['party']}"
    assert (fund["1300" + sub], fund["4500"]) == (99_000_00, -24_000_00)
    assert fund["1100"] == 50_000_000_00 - 165_000_00 + 90_000_00
    member = next(line for line in table.lines if line.party_id == rice["members"][0])
    # the member's 400 shares plus 600 from the fund, paid up at what the fund paid for them (66,000.00)
    assert (member.shares, member.paid_satang) == (1_000, 40_000_00 + 66_000_00)


def test_a_loss_on_exit_after_impairment(co):
    """The fund holds 1,000 shares costing 100,000.00 in an enterprise hit by a flood; it impairs
    them by 40,000.00 (carrying amount 60,000.00) and sells them all back to the enterprise for
    50,000.00: Dr cash 50,000.00, Dr allowance 40,000.00, Dr loss 10,000.00 / Cr investments
    100,000.00. In the enterprise's book the buy-back takes 100,000.00 of share capital out for
    50,000.00 of cash; the 50,000.00 difference goes to retained earnings."""
    weave = enterprise(co, "วิสาหกิจชุมชนทอผ้า", 8, 250, date(2023, 1, 2))
    investment = invest(co, weave, 1_000, 100_000_00, date(2023, 3, 1))
    with co["db"].write() as c:
        equity.impair_investment(c, investment, equity.Movement(date(2023, 11, 1), 40_000_00, reason="flood"),
                                 reverse=False, today=TODAY, user_id=co["approver"], now=NOW)  # fmt: skip
    fund, sub = balances(co, co["fund"]), f"-P{weave['party']}"
    assert (fund["1300" + sub], fund["1390" + sub], fund["5300"]) == (100_000_00, -40_000_00, 40_000_00)
    with co["db"].write() as c:
        done = equity.exit_investment(c, investment, date(2024, 2, 1), [equity.ExitSale(None, 1_000, 50_000_00)],
                                      today=TODAY, user_id=co["officer"], now=NOW)  # fmt: skip
        held = equity.position(equity.investment_events(c, [investment])[investment])
    assert done["status"] == "exited" and held == Position(0, 0, 0, -10_000_00)
    fund, shop = balances(co, co["fund"]), balances(co, weave["book"])
    assert (fund["1300" + sub], fund["1390" + sub], fund["5100"]) == (0, 0, 10_000_00)
    assert (shop["1100"], shop["3100"], shop["3300"]) == (200_000_00 + 100_000_00 - 50_000_00, -200_000_00, -50_000_00)
