"""Properties of co-investment, and a hypothesis state machine over an enterprise's register and
the fund's investment in it.

Pure properties of `ledger.equity`:
- shares issued = the sum of holdings at every date, whatever events are accepted;
- the cap table's percentages sum to exactly 100 %;
- a distribution's parts sum exactly to what is declared, and none is negative;
- the pro-rata by days held is monotone: more shares or more days never yield less, both in the
  paid-up-days weight and in the part of a fixed declared amount;
- buying and then selling everything at cost leaves a zero carrying amount and no gain;
- a dividend declared as an amount is shared out exactly: its parts sum to the amount;
- capital held through a whole one-year period earns exactly the yearly rate, leap year or not;
- an exit to several buyers conserves shares, cost and impairment, and is the one disposal of
  all those shares split among the buyers;
- the price "par plus retained earnings per share" of all the shares is exactly their par plus
  the retained earnings, and a buyer of more shares never pays less.

The state machine drives the store through issues, transfers and buy-backs among members, the
fund's purchases, impairments and their reversals, distributions (declared at a rate or as an
amount, and paid) and exits (to members and back to the enterprise, to one buyer or to several
at once). After every step: every book balances; the register's
shares issued equal its holdings and its percentages sum to 100; the fund's holding on the
register equals its position; the fund's investment account equals the cost of the shares it
holds and, with the allowance, cost less impairment; the enterprise's share capital equals the
paid-up capital on its register; every distribution's parts sum to its dividends and refunds.
"""

import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from ledger.accounts import EntryDraft, Posting
from ledger.equity import (
    Declaration,
    EventKind,
    Policy,
    Position,
    RegisterEvent,
    Sale,
    ShareClass,
    apply_event,
    cap_table,
    disposal,
    disposals,
    distribute,
    holdings_as_of,
    paid_up_days,
    par_plus_retained_earnings,
    purchase,
    shares_issued,
    validate_event,
)
from ledger.errors import LedgerError, Rejection
from ledger.money import allocate
from store import books, equity, journal, users
from store.books import balance_t
from tests.conftest import NOW, attempt

PURE = settings(max_examples=80, deadline=None)
CLASSES = {1: ShareClass(1, 100_00, 1), 2: ShareClass(2, 1_000_00, 0)}
START = date(2024, 1, 1)
PARTIES = st.integers(1, 5)
KINDS = st.sampled_from(list(EventKind))


@st.composite
def events(draw):
    """Register events on increasing days; many would be refused (that is the point)."""
    made, day = [], START
    for _ in range(draw(st.integers(1, 25))):
        day += timedelta(days=draw(st.integers(0, 20)))
        kind, shares = draw(KINDS), draw(st.integers(1, 200))
        price = draw(st.integers(0, 50_000_00))
        parties = {"to_party": None, "from_party": None}
        if kind in (EventKind.issue, EventKind.payment, EventKind.transfer):
            parties["to_party"] = draw(PARTIES)
        if kind in (EventKind.transfer, EventKind.buy_back, EventKind.cancellation):
            parties["from_party"] = draw(PARTIES)
        paid = draw(st.integers(0, price)) if kind is EventKind.issue else 0
        made.append(RegisterEvent(kind, day, draw(st.sampled_from([1, 2])), 0 if kind is EventKind.payment else shares,
                                  amount_satang=price, paid_satang=paid, **parties))  # fmt: skip
    return made


def accepted(candidates: list[RegisterEvent]) -> list[RegisterEvent]:
    """The events a register takes, in order, leaving out each one it refuses."""
    kept, holdings = [], {}
    for event in candidates:
        try:
            validate_event(event, CLASSES)
            holdings = apply_event(holdings, event)
        except LedgerError:
            continue
        kept.append(event)
    return kept


@PURE
@given(events())
def test_shares_issued_equal_the_holdings_at_every_date(candidates):
    kept = accepted(candidates)
    for day in sorted({e.on for e in kept}):
        held = holdings_as_of(kept, day, CLASSES)
        by_class: dict[int, int] = {}
        for (_, class_id), holding in held.items():
            assert holding.shares >= 0 and 0 <= holding.paid_satang <= holding.committed_satang
            by_class[class_id] = by_class.get(class_id, 0) + holding.shares
        assert {c: n for c, n in shares_issued(kept, day).items() if n} == {c: n for c, n in by_class.items() if n}


@PURE
@given(events())
def test_cap_table_percentages_sum_to_100(candidates):
    table = cap_table(holdings_as_of(accepted(candidates), date.max, CLASSES), CLASSES)
    for class_id in table.shares_by_class:
        assert sum(line.percent_of_class for line in table.lines if line.class_id == class_id) == 100
    if table.holders:
        assert sum(h.percent_of_capital for h in table.holders) == 100
        assert sum(h.percent_of_votes for h in table.holders) in (0, 100)  # no votes at all: all zero
        assert all(h.percent_of_capital >= 0 for h in table.holders)


@PURE
@given(events(), st.integers(1, 10**9), st.decimals(0, 10, places=3), st.integers(0, 10**7),
       st.lists(st.tuples(PARTIES, st.integers(0, 10**6)), max_size=5, unique_by=lambda b: b[0]),
       st.integers(0, 200))  # fmt: skip
def test_distribution_parts_sum_to_what_is_declared_and_none_is_negative(
    candidates, profit, rate, patronage, business, days
):
    kept = accepted(candidates)
    declaration = Declaration(START, START + timedelta(days=days), profit, Decimal(10), rate,
                              patronage if any(s for _, s in business) else 0, tuple(business))  # fmt: skip
    try:
        result = distribute(Policy(), declaration, kept, CLASSES)
    except LedgerError as error:
        assert error.reason is Rejection.distribution_exceeds_profit
        return
    assert all(part.amount_satang >= 0 for part in result.parts)
    assert sum(p.amount_satang for p in result.parts if p.kind == "dividend") == result.dividend_satang
    assert sum(p.amount_satang for p in result.parts if p.kind == "patronage") == result.patronage_satang
    assert result.appropriated_satang <= profit


@PURE
@given(st.integers(1, 10**6), st.integers(1, 10**6), st.integers(0, 365), st.integers(0, 365),
       st.integers(1, 10**5), st.integers(0, 10**5))  # fmt: skip
def test_more_shares_or_more_days_never_yield_less(shares, more, days, later, other, total):
    """A holder whose shares are paid for `days` days before the period ends, against another
    holding `other` shares all period: more shares, or paying earlier, never gives a smaller
    weight, nor a smaller part of the same declared amount."""
    end = START + timedelta(days=365)

    def weight(n: int, held_days: int) -> tuple[int, int]:
        events = [RegisterEvent(EventKind.issue, START, 1, other, to_party=1, amount_satang=other * 100_00,
                                paid_satang=other * 100_00),
                  RegisterEvent(EventKind.issue, end - timedelta(days=held_days), 1, n, to_party=2,
                                amount_satang=n * 100_00, paid_satang=n * 100_00)]  # fmt: skip
        weights = paid_up_days(events, START, end, CLASSES)
        return weights.get((2, 1), 0), weights[(1, 1)]

    base, richer, longer = weight(shares, days), weight(shares + more, days), weight(shares, max(days, later))
    for bigger in (richer, longer):
        assert bigger[0] >= base[0]
        if base[0]:
            assert allocate(total, [bigger[1], bigger[0]])[1] >= allocate(total, [base[1], base[0]])[1]


@PURE
@given(st.integers(1, 10**6), st.integers(1, 10**12))
def test_buying_then_selling_everything_at_cost_leaves_nothing(shares, price):
    held = purchase(Position(), shares=shares, price_satang=price)
    sold = disposal(held, shares=shares, proceeds_satang=price)
    assert (sold.cost_satang, sold.gain_satang) == (price, 0)
    assert held.carrying_satang - sold.cost_satang + sold.impairment_satang == 0


@PURE
@given(events(), st.integers(0, 10**10), st.integers(0, 800))
def test_a_dividend_amount_is_shared_out_exactly(candidates, amount, days):
    kept = accepted(candidates)
    declaration = Declaration(START, START + timedelta(days=days), 10**13, Decimal(10), None, dividend_satang=amount)
    try:
        result = distribute(Policy(dividend_cap_percent=None), declaration, kept, CLASSES)
    except LedgerError as error:  # nothing paid up in the period to share by
        assert error.reason is Rejection.invalid_request and amount > 0
        assert not any(paid_up_days(kept, START, START + timedelta(days=days), CLASSES).values())
        return
    dividends = [p.amount_satang for p in result.parts if p.kind == "dividend"]
    assert result.dividend_satang == amount and all(part >= 0 for part in dividends)
    assert sum(dividends) == amount if dividends else amount == 0


@PURE
@given(st.dates(date(2000, 1, 1), date(2060, 12, 31)), st.integers(1, 10**10), st.decimals(0, 100, places=6))
def test_capital_held_a_whole_year_earns_exactly_the_rate(start, paid, rate):
    """Whatever day a one-year period starts on, and whether it holds a 29 February or not."""
    end = (date(start.year + 1, 3, 1) if (start.month, start.day) == (2, 29)
           else start.replace(year=start.year + 1)) - timedelta(days=1)  # fmt: skip
    issued = RegisterEvent(EventKind.issue, start - timedelta(days=1), 1, 1, to_party=1, amount_satang=paid,
                           paid_satang=paid)  # fmt: skip
    declaration = Declaration(start, end, 10**13, Decimal(0), rate)
    result = distribute(Policy(Decimal(0), None), declaration, [issued], CLASSES)
    exact = Decimal(paid) * rate / 100
    assert result.dividend_satang == int(exact.quantize(Decimal(1), rounding="ROUND_HALF_UP"))


@PURE
@given(st.integers(1, 10**6), st.integers(0, 10**12), st.data())
def test_an_exit_to_several_buyers_conserves_shares_cost_and_impairment(held_shares, cost, data):
    impairment = data.draw(st.integers(0, cost))
    held = Position(shares=held_shares, cost_satang=cost, impairment_satang=impairment)
    sales = data.draw(st.lists(st.builds(Sale, st.integers(1, held_shares), st.integers(1, 10**10)), min_size=1,
                               max_size=8))  # fmt: skip
    sold_shares = sum(sale.shares for sale in sales)
    try:
        parts = disposals(held, sales)
    except LedgerError as error:
        assert error.reason is Rejection.insufficient_shares and sold_shares > held_shares
        return
    whole = disposal(held, shares=sold_shares, proceeds_satang=sum(sale.proceeds_satang for sale in sales))
    assert sum(p.cost_satang for p in parts) == whole.cost_satang
    assert sum(p.impairment_satang for p in parts) == whole.impairment_satang
    assert sum(p.gain_satang for p in parts) == whole.gain_satang
    left = Position(held_shares - sold_shares, cost - whole.cost_satang, impairment - whole.impairment_satang)
    assert left.shares >= 0 and 0 <= left.impairment_satang <= left.cost_satang
    for sale, part in zip(sales, parts, strict=True):
        assert part.gain_satang == sale.proceeds_satang - (part.cost_satang - part.impairment_satang)


@PURE
@given(st.integers(1, 10**6), st.integers(1, 10**6), st.integers(-(10**12), 10**12), st.data())
def test_par_plus_retained_earnings_is_exact_for_all_shares_and_monotone(outstanding, par, retained, data):
    shares = data.draw(st.integers(0, outstanding))
    price = par_plus_retained_earnings(shares=shares, par_value_satang=par, retained_earnings_satang=retained,
                                       shares_outstanding=outstanding)  # fmt: skip
    everything = par_plus_retained_earnings(shares=outstanding, par_value_satang=par,
                                            retained_earnings_satang=retained, shares_outstanding=outstanding)
    assert everything == max(0, outstanding * par + retained)
    if shares < outstanding:
        more = par_plus_retained_earnings(shares=shares + 1, par_value_satang=par, retained_earnings_satang=retained,
                                          shares_outstanding=outstanding)  # fmt: skip
        if outstanding * par + retained >= 0:  # a share is worth something: more shares never cost less
            assert more >= price
    exact = shares * par + Fraction(shares * retained, outstanding)
    assert price == max(0, math.floor(exact + Fraction(1, 2)))


# --- the state machine --------------------------------------------------------------------------

TODAY = date(2030, 12, 31)
CASH_SATANG = 10**11


class CoInvestment(RuleBasedStateMachine):
    def __init__(self, databases) -> None:
        super().__init__()
        self.db, self._drop = databases.fresh()
        self.day = START
        self.distributed_through = START - timedelta(days=1)
        self.investment: int | None = None

    def teardown(self) -> None:
        self._drop()

    @initialize(members=st.integers(2, 5), shares=st.integers(1, 500), cap=st.sampled_from([None, Decimal(60)]),
                fund_shares=st.integers(1, 500), price=st.integers(1, 20_000_00))  # fmt: skip
    def found(self, members, shares, cap, fund_shares, price):
        """A fund with cash and an enterprise with its own book, members holding shares, and
        (unless the cap forbids it) the fund's first purchase."""
        with self.db.write() as c:
            self.user = users.add_user(c, name="officer", role="officer", party_id=None, now=NOW)[0]
            fund = books.create_book(c, {"code": "FUND", "kind": "fund", "name_th": "กองทุน"}, now=NOW)["id"]
            ids = {a["code"]: a["id"] for a in books.book_accounts(c, fund)}
            journal.record_entry(c, EntryDraft(fund, START, "manual", "capital", (
                Posting(ids["1100"], CASH_SATANG), Posting(ids["3100"], -CASH_SATANG))),
                recorded_by=self.user, recorded_at=NOW)  # fmt: skip
            self.party = books.create_party(c, {"kind": "community_enterprise", "name_th": "ว"}, now=NOW)["id"]
            self.book = books.create_book(c, {"code": "ENT", "kind": "enterprise", "name_th": "ว",
                                              "party_id": self.party}, now=NOW)["id"]  # fmt: skip
            self.fund = fund
            share = {"code": "A", "name_th": "ก", "par_value_satang": 10_00, "votes_per_share": 1}
            self.share = equity.create_share_class(c, self.party, share, user_id=self.user, now=NOW)["id"]
            self.members = [books.create_party(c, {"kind": "other", "name_th": f"m{i}"}, now=NOW)["id"]
                            for i in range(members)]  # fmt: skip
            if cap is not None:
                equity.set_policy(c, self.party, Policy(holder_cap_percent=cap), effective_from=START,
                                  user_id=self.user, now=NOW)  # fmt: skip
            equity.set_approval_threshold(c, fund, 10**14, user_id=self.user, now=NOW)
        self.register([RegisterEvent(EventKind.issue, START, self.share, shares, to_party=m,
                                     amount_satang=shares * 10_00, paid_satang=shares * 10_00)
                       for m in self.members])  # fmt: skip
        self.invest(fund_shares, price, 0)

    def register(self, events, *expected: Rejection):
        return attempt(
            self.db,
            lambda c: equity.record_register_events(c, self.party, events, today=TODAY, user_id=self.user, now=NOW),
            *expected,
        )

    def advance(self, gap: int) -> date:
        self.day = self.day + timedelta(days=gap)
        return self.day

    # --- rules -------------------------------------------------------------------------------

    @rule(member=st.integers(0, 4), shares=st.integers(1, 300), paid=st.integers(0, 100), gap=st.integers(0, 20))
    def issue(self, member, shares, paid, gap):
        price = shares * 10_00
        event = RegisterEvent(EventKind.issue, self.advance(gap), self.share, shares,
                              to_party=self.members[member % len(self.members)], amount_satang=price,
                              paid_satang=price * paid // 100)  # fmt: skip
        self.register([event], Rejection.holder_cap_exceeded)

    @rule(source=st.integers(0, 4), taker=st.integers(0, 4), shares=st.integers(1, 300), gap=st.integers(0, 20))
    def transfer(self, source, taker, shares, gap):
        giver, taker = self.members[source % len(self.members)], self.members[taker % len(self.members)]
        if giver != taker:
            self.register([RegisterEvent(EventKind.transfer, self.advance(gap), self.share, shares, to_party=taker,
                                         from_party=giver)], Rejection.insufficient_shares,
                          Rejection.holder_cap_exceeded)  # fmt: skip

    @rule(member=st.integers(0, 4), shares=st.integers(1, 200), price=st.integers(0, 5_000_00), gap=st.integers(0, 20))
    def buy_back(self, member, shares, price, gap):
        self.register([RegisterEvent(EventKind.buy_back, self.advance(gap), self.share, shares,
                                     from_party=self.members[member % len(self.members)], amount_satang=price)],
                      Rejection.insufficient_shares, Rejection.insufficient_balance)  # fmt: skip

    @rule(shares=st.integers(1, 500), price=st.integers(1, 20_000_00), gap=st.integers(0, 20))
    def invest(self, shares, price, gap):
        order = equity.PurchaseOrder(shares, price, self.advance(gap))
        if self.investment is None:
            done = attempt(self.db, lambda c: equity.record_investment(
                c, book_id=self.fund, enterprise_party_id=self.party, share_class_id=self.share, order=order,
                today=TODAY, user_id=self.user, now=NOW), Rejection.holder_cap_exceeded)  # fmt: skip
            self.investment = done["id"] if done else None
        else:
            attempt(self.db, lambda c: equity.add_purchase(c, self.investment, order, today=TODAY, user_id=self.user,
                                                           now=NOW), Rejection.holder_cap_exceeded)  # fmt: skip

    @rule(share=st.integers(1, 120), reverse=st.booleans(), gap=st.integers(0, 20))
    def impair(self, share, reverse, gap):
        if self.investment is None:
            return
        held = self.position()
        amount = max(1, (held.impairment_satang if reverse else held.carrying_satang) * share // 100)
        attempt(self.db, lambda c: equity.impair_investment(
            c, self.investment, equity.Movement(self.advance(gap), amount, reason="review"), reverse=reverse,
            today=TODAY, user_id=self.user, now=NOW), Rejection.impairment_exceeds_carrying_amount,
            Rejection.reversal_exceeds_impairment)  # fmt: skip

    @rule(share=st.integers(1, 120), to_member=st.integers(-1, 4), markup=st.integers(50, 150),
          gap=st.integers(0, 20), buyers=st.integers(1, 3))  # fmt: skip
    def exit(self, share, to_member, markup, gap, buyers):
        """To one buyer, or to several at once (members, and the enterprise when to_member < 0)."""
        if self.investment is None:
            return
        held = self.position()
        shares = max(1, held.shares * share // 100)
        price = max(1, held.cost_satang * markup // 100 * shares // max(held.shares, 1))
        first = None if to_member < 0 else self.members[to_member % len(self.members)]
        others = (self.members[(to_member + n) % len(self.members)] for n in range(1, buyers))
        who = list(dict.fromkeys([first, *others]))[: min(buyers, shares)]  # each buyer once
        sales = [equity.ExitSale(w, part, max(1, cut))
                 for w, part, cut in zip(who, allocate(shares, [1] * len(who)), allocate(price, [1] * len(who)),
                                         strict=True)]  # fmt: skip
        done = attempt(self.db, lambda c: equity.exit_investment(
            c, self.investment, self.advance(gap), sales, today=TODAY, user_id=self.user, now=NOW),
            Rejection.insufficient_shares, Rejection.insufficient_balance, Rejection.holder_cap_exceeded,
            Rejection.investment_exited)  # fmt: skip
        if done is not None and done["status"] == "exited":
            self.investment = None

    @rule(rate=st.decimals(0, 10, places=2), profit=st.integers(1, 10**8), pay=st.booleans(), gap=st.integers(1, 60),
          as_amount=st.booleans())  # fmt: skip
    def distribute(self, rate, profit, pay, gap, as_amount):
        """At a rate, or as an amount (a twentieth of the profit) to share out."""
        start, end = self.distributed_through + timedelta(days=1), self.advance(gap)
        declaration = Declaration(start, end, profit, Decimal(10), None if as_amount else rate,
                                  dividend_satang=profit // 20 if as_amount else None)  # fmt: skip
        done = attempt(self.db, lambda c: equity.declare(c, self.party, declaration, declared_on=end, today=TODAY,
                                                         user_id=self.user, now=NOW),
                       Rejection.distribution_exceeds_profit, Rejection.dividend_rate_above_cap,
                       Rejection.invalid_request)  # fmt: skip
        if done is None:
            self.day -= timedelta(days=gap)
            return
        self.distributed_through, self.day = end, end + timedelta(days=1)
        if pay and any(p["amount_satang"] for p in done["parts"]):
            attempt(self.db, lambda c: equity.pay(c, self.party, done["id"], paid_on=self.day, holders=None,
                                                  today=TODAY, user_id=self.user, now=NOW),
                    Rejection.insufficient_balance)  # fmt: skip

    # --- invariants --------------------------------------------------------------------------

    def position(self) -> Position:
        with self.db.read() as c:
            return equity.position(equity.investment_events(c, [self.investment])[self.investment])

    def balances(self, c, book_id: int) -> dict[str, int]:
        return {a["code"]: a["balance_satang"] for a in books.book_accounts(c, book_id)}

    @invariant()
    def books_balance(self):
        with self.db.read() as c:
            totals = c.execute(select(balance_t.c.book_id, func.sum(balance_t.c.balance_satang))
                               .group_by(balance_t.c.book_id)).all()  # fmt: skip
        assert all(int(total) == 0 for _, total in totals)

    @invariant()
    def register_agrees_with_itself_and_the_books(self):
        with self.db.read() as c:
            found = equity.cap_table_as_of(c, self.party, date.max)
            issued = shares_issued(equity.register_events(c, self.party), date.max)
            shop = self.balances(c, self.book)
            distributions = equity.list_distributions(c, self.party)
        table = found["table"]
        assert {k: v for k, v in issued.items() if v} == table.shares_by_class
        if table.holders:
            assert sum(h.percent_of_capital for h in table.holders) == 100
        assert -shop["3100"] == sum(line.paid_satang for line in table.lines)
        assert shop["1100"] >= 0
        for d in distributions:
            assert sum(p["amount_satang"] for p in d["parts"]) == d["dividend_satang"] + d["patronage_satang"]

    @invariant()
    def the_fund_account_is_the_cost_of_what_it_holds_less_impairment(self):
        with self.db.read() as c:
            fund_party = books.get_book(c, self.fund)["party_id"]
            rows = equity.list_investments(c, filters={"book_id": self.fund}, only_party=None)
            events = equity.investment_events(c, [r["id"] for r in rows])
            holdings = equity.cap_table_as_of(c, self.party, date.max)["holdings"]
            fund = self.balances(c, self.fund)
        positions = [equity.position(events[r["id"]]) for r in rows]
        cost = sum(p.cost_satang for p in positions)
        impairment = sum(p.impairment_satang for p in positions)
        sub = f"-P{self.party}"
        assert fund.get("1300" + sub, 0) == cost and fund.get("1390" + sub, 0) == -impairment
        assert 0 <= cost - impairment <= cost
        held = holdings.get((fund_party, self.share))
        assert (held.shares if held else 0) == sum(p.shares for p in positions)
        assert all(p.shares > 0 or p.cost_satang == p.impairment_satang == 0 for p in positions)
        gains = sum(p.realised_gain_satang for p in positions)
        assert -fund["4500"] - fund["5100"] == gains


def test_the_register_and_the_fund_keep_their_invariants(databases):
    run_state_machine_as_test(
        lambda: CoInvestment(databases),
        settings=settings(max_examples=25, stateful_step_count=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )  # fmt: skip
