"""Welfare funds under hypothesis.

Properties of `ledger.welfare` alone: a contribution is the rate times the amount rounded half-up
once (checked against exact fractions); a settlement's parts sum to it, pay the oldest sales
first and never more than is owed; the rule in force is one that covers the day, the channel's
own before the enterprise's general one; a statement always adds up.

Then a state machine drives `store.welfare` through rules (some refused as overlapping), sales
(with and without a rule), reversals, settlements (partial, over, advances) and their reversals,
refunds of unused advances, a sale reversed at once, a settlement reversed at once, member and
matching contributions (the government's, some through CODI), benefits and administration
costs, and checks after every step:

- every entry balances, every stored balance is the sum of its postings, every book sums to zero
  (invariants 1, 3, 4);
- each live sale's contribution is its rule's rate times its amount rounded once, and its rule is
  the one in force on its date (invariant 10);
- for each enterprise and fund: contributions due = received + outstanding, and the enterprise's
  payable equals the fund's receivable equals what is outstanding; the advance held on both sides
  equals advances paid plus what reversed sales had settled less what later sales used, what
  was refunded and what settlement reversals took back;
- what each enterprise owes as of a day (`receivables(as_of=)`) is what the sales, settlements
  and reversals dated by then leave owed, counted here from the rows; as of the last day it is
  the fund's receivable from the enterprise;
- each matching source's receivable is its promises less its payments, and what the government
  paid through CODI is CODI's programme expense for the fund (`5400-W<fund>`);
- a sale and its reversal, and a settlement and its reversal, leave every balance as it was.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from math import floor

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select, text

from ledger.accounts import EntryDraft, Posting
from ledger.errors import LedgerError, Rejection
from ledger.welfare import (
    Channel,
    ContributionRule,
    Frequency,
    MatchingKind,
    MatchingSource,
    Owed,
    Payment,
    allocate_settlement,
    compose_statement,
    contribution_satang,
    overlaps,
    rule_in_force,
)
from store import books, journal, users, welfare
from tests.conftest import NOW, attempt

PURE = settings(max_examples=80, deadline=None)
FIRST_DAY, TODAY = date(2024, 1, 1), date(2024, 6, 30)
DAYS = st.integers(0, (TODAY - FIRST_DAY).days).map(lambda n: FIRST_DAY + timedelta(days=n))
RATES = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)
CHANNELS = st.sampled_from(list(Channel))


# --- the pure domain ---------------------------------------------------------------------------


@PURE
@given(amount=st.integers(1, 10**14 - 1), rate=RATES)
def test_a_contribution_is_the_rate_times_the_amount_rounded_half_up_once(amount, rate):
    exact = Fraction(amount) * Fraction(rate) / 100
    assert contribution_satang(amount, rate) == floor(exact + Fraction(1, 2))
    assert 0 <= contribution_satang(amount, rate) <= amount


OWED = st.lists(st.tuples(DAYS, st.integers(1, 10**6)), max_size=8).map(
    lambda rows: [Owed(i + 1, day, satang) for i, (day, satang) in enumerate(rows)]
)


@PURE
@given(owed=OWED, amount=st.integers(1, 10**7), advance=st.booleans())
def test_a_settlement_pays_oldest_first_and_only_an_advance_beyond_what_is_owed(owed, amount, advance):
    total = sum(o.outstanding_satang for o in owed)
    try:
        plan = allocate_settlement(amount, owed, advance=advance)
    except LedgerError as error:
        assert error.reason is Rejection.settlement_exceeds_owed and amount > total and not advance
        return
    assert plan.allocated_satang + plan.advance_satang == amount
    assert plan.advance_satang == max(0, amount - total)
    by_id = {o.sale_id: o for o in owed}
    ordered = sorted(owed, key=lambda o: (o.effective_date, o.sale_id))
    paid = dict(plan.allocations)
    assert [sale_id for sale_id, _ in plan.allocations] == [o.sale_id for o in ordered][: len(plan.allocations)]
    assert all(0 < part <= by_id[sale_id].outstanding_satang for sale_id, part in plan.allocations)
    assert all(paid[o.sale_id] == o.outstanding_satang for o in ordered[: len(plan.allocations) - 1])


RULES = st.lists(st.tuples(st.sampled_from([None, *Channel]), DAYS, st.integers(0, 90), RATES), max_size=6)


@PURE
@given(rows=RULES, channel=CHANNELS, on=DAYS)
def test_the_rule_in_force_covers_the_day_and_prefers_the_channel(rows, channel, on):
    rules: list[ContributionRule] = []
    for i, (ch, start, days, rate) in enumerate(rows):
        candidate = ContributionRule(1, 2, rate, ch, start, start + timedelta(days=days), i + 1)
        if not any(overlaps(candidate, r) for r in rules):
            rules.append(candidate)
    found = rule_in_force(rules, channel=channel, on=on)
    covering = [r for r in rules if r.covers(on) and r.channel in (channel, None)]
    if not covering:
        assert found is None
    else:
        assert found in covering and (found.channel == channel or all(r.channel is None for r in covering))


CODES = st.sampled_from(["1100", "1200-E3", "2100", "3200", "4100", "4400", "4700", "5100", "5200", "5900"])
TYPES = {"1": "asset", "2": "liability", "3": "equity", "4": "income", "5": "expense"}


@PURE
@given(movements=st.dictionaries(CODES, st.integers(-10**9, 10**9)), opening=st.integers(-10**9, 10**9),
       sales=st.dictionaries(st.integers(1, 5), st.integers(0, 10**6), max_size=3))  # fmt: skip
def test_a_statement_always_adds_up(movements, opening, sales):
    """A book's movements balance: capital (3100) is whatever the others leave."""
    typed = {code: (TYPES[code[0]], amount) for code, amount in movements.items()}
    typed["3100"] = ("equity", -sum(movements.values()))
    net = sum(amount for code, (type_, amount) in typed.items() if type_ in ("asset", "liability"))
    s = compose_statement(opening_satang=opening, closing_satang=opening + net, movements_by_code=typed,
                          sales_by_enterprise=sales, benefits_by_type={})  # fmt: skip
    assert s.opening_satang + s.total_inflows_satang - s.total_outflows_satang + s.other_changes_satang == (
        s.closing_satang)  # fmt: skip
    assert sum(x for _, x in s.sales_by_enterprise) == dict(s.inflows)["sales_contributions"]
    equity = sum(amount for type_, amount in typed.values() if type_ == "equity")
    assert s.other_changes_satang == -equity


# --- the state machine -------------------------------------------------------------------------

CASH_SATANG = 10**9  # each enterprise's and the fund's opening cash


class WelfareMachine(RuleBasedStateMachine):
    def __init__(self, databases) -> None:
        super().__init__()
        self.db, self._drop = databases.fresh()
        with self.db.write() as c:
            self.user = users.add_user(c, name="officer", role="officer", party_id=None, now=NOW)[0]
            self.fund = self._party_with_book(c, "welfare_fund", "WF")
            self.enterprises = [self._party_with_book(c, "community_enterprise", f"CE{n}") for n in (1, 2)]
            self.codi = self._party_with_book(c, "other", "CODI")  # CODI's own fund book
            welfare.create_rule(c, ContributionRule(self.enterprises[0], self.fund, Decimal("5"), None, FIRST_DAY),
                                user_id=self.user, now=NOW)  # fmt: skip

    def _party_with_book(self, c, kind: str, code: str) -> int:
        party = books.create_party(c, {"kind": kind, "name_th": code, "province": "Phrae"}, now=NOW)["id"]
        book_kind = {"welfare_fund": "welfare_fund", "community_enterprise": "enterprise", "other": "fund"}[kind]
        book = books.create_book(c, {"code": code, "kind": book_kind, "name_th": code, "party_id": party}, now=NOW)
        ids = {a["code"]: a["id"] for a in books.book_accounts(c, book["id"])}
        draft = EntryDraft(book["id"], FIRST_DAY, "manual", "capital",
                           (Posting(ids["1100"], CASH_SATANG), Posting(ids["3100"], -CASH_SATANG)))  # fmt: skip
        journal.record_entry(c, draft, recorded_by=self.user, recorded_at=NOW)
        return party

    def teardown(self) -> None:
        self._drop()

    def fund_write(self, c) -> welfare.FundWrite:
        return welfare.FundWrite.open(c, self.fund, user_id=self.user, now=NOW)

    def balances(self) -> dict[int, int]:
        with self.db.read() as c:
            return dict(c.execute(text("SELECT account_id, balance_satang FROM account_balance")).all())

    def live_sales(self) -> list[dict]:
        with self.db.read() as c:
            return [s for s in welfare.list_sales(c, filters={}, only_party=None, after=0, limit=10_000)
                    if s["reversal"] is None]  # fmt: skip

    # --- rules -----------------------------------------------------------------------------

    @rule(which=st.integers(0, 1), rate=RATES, channel=st.sampled_from([None, *Channel]), start=DAYS,
          days=st.none() | st.integers(0, 120))  # fmt: skip
    def add_rule(self, which, rate, channel, start, days):
        candidate = ContributionRule(self.enterprises[which], self.fund, rate, channel, start,
                                     None if days is None else start + timedelta(days=days))  # fmt: skip
        attempt(self.db, lambda c: welfare.create_rule(c, candidate, user_id=self.user, now=NOW),
                Rejection.overlapping_rules, Rejection.rule_already_used)  # fmt: skip

    @rule(which=st.integers(0, 1), day=DAYS, channel=CHANNELS, amount=st.integers(1, 10**8),
          zero=st.booleans(), credit=st.booleans())  # fmt: skip
    def sell(self, which, day, channel, amount, zero, credit):
        payment = Payment.credit if credit else Payment.cash
        request = welfare.SaleRequest(self.enterprises[which], day, channel, amount, payment,
                                      allow_zero_contribution=zero)  # fmt: skip

        def write(c):
            [answer] = welfare.record_sales(c, [request], user_id=self.user, now=NOW)
            if isinstance(answer, LedgerError):
                raise answer
            return answer

        attempt(self.db, write, Rejection.no_rule_in_force)

    @precondition(lambda self: self.live_sales())
    @rule(data=st.data(), later=st.integers(0, 30))
    def reverse(self, data, later):
        sale = data.draw(st.sampled_from(self.live_sales()))
        on = min(sale["effective_date"] + timedelta(days=later), TODAY)
        attempt(self.db, lambda c: welfare.reverse_sale(c, sale["id"], on=on, reason="test", user_id=self.user,
                                                        now=NOW))  # fmt: skip

    @rule(which=st.integers(0, 1), share=st.integers(1, 150), advance=st.booleans(), day=DAYS)
    def settle(self, which, share, advance, day):
        with self.db.read() as c:
            owed = sum(s["outstanding_satang"] for s in welfare.owed_sales(
                c, fund_party_id=self.fund, enterprise_party_id=self.enterprises[which]))  # fmt: skip
        amount = max(1, owed * share // 100)
        attempt(self.db, lambda c: welfare.settle(
            c, enterprise_party_id=self.enterprises[which], fund_party_id=self.fund, amount_satang=amount, on=day,
            advance=advance, reference=None, user_id=self.user, now=NOW,
        ), Rejection.settlement_exceeds_owed)  # fmt: skip

    def live_settlements(self) -> list[dict]:
        with self.db.read() as c:
            return [s for s in welfare.list_settlements(c, filters={}, only_party=None, after=0, limit=10_000)
                    if s["reversal"] is None]  # fmt: skip

    @precondition(lambda self: self.live_settlements())
    @rule(data=st.data(), later=st.integers(0, 30))
    def reverse_settlement(self, data, later):
        settlement = data.draw(st.sampled_from(self.live_settlements()))
        on = min(settlement["effective_date"] + timedelta(days=later), TODAY)
        attempt(self.db, lambda c: welfare.reverse_settlement(c, settlement["id"], on=on, reason="error",
                                                              user_id=self.user, now=NOW),
                Rejection.settlement_advance_used, Rejection.insufficient_balance)  # fmt: skip

    @rule(which=st.integers(0, 1), share=st.integers(1, 150), day=DAYS)
    def refund(self, which, share, day):
        """A share of what may be refunded: the advance held less what is owed."""
        enterprise = self.enterprises[which]
        with self.db.read() as c:
            held = self._accounts(c).get((welfare.enterprise_book(c, enterprise)["id"], f"1400-F{self.fund}"), 0)
            owed = sum(s["outstanding_satang"] for s in welfare.owed_sales(
                c, fund_party_id=self.fund, enterprise_party_id=enterprise))  # fmt: skip
        attempt(self.db, lambda c: welfare.refund_advance(
            c, enterprise_party_id=enterprise, fund_party_id=self.fund,
            amount_satang=max(1, (held - owed) * share // 100), on=day, reference=None, user_id=self.user, now=NOW,
        ), Rejection.refund_exceeds_advance, Rejection.insufficient_balance)  # fmt: skip

    @rule(which=st.integers(0, 1), day=DAYS, amount=st.integers(1, 10**7))
    def settlement_and_reversal_change_nothing(self, which, day, amount):
        before = self.balances()

        def write(c):
            settled = welfare.settle(c, enterprise_party_id=self.enterprises[which], fund_party_id=self.fund,
                                     amount_satang=amount, on=day, advance=True, reference=None, user_id=self.user,
                                     now=NOW)  # fmt: skip
            return welfare.reverse_settlement(c, settled["id"], on=day, reason="undo", user_id=self.user, now=NOW)

        attempt(self.db, write)
        after = self.balances()
        assert {a: b for a, b in after.items() if a in before} == before
        assert all(after[a] == 0 for a in after.keys() - before.keys())

    @rule(which=st.integers(0, 1), day=DAYS, channel=CHANNELS, amount=st.integers(1, 10**8))
    def sale_and_reversal_change_nothing(self, which, day, channel, amount):
        before = self.balances()
        request = welfare.SaleRequest(self.enterprises[which], day, channel, amount, allow_zero_contribution=True)

        def write(c):
            [sale] = welfare.record_sales(c, [request], user_id=self.user, now=NOW)
            return welfare.reverse_sale(c, sale["id"], on=day, reason="undo", user_id=self.user, now=NOW)

        attempt(self.db, write)
        after = self.balances()
        assert {a: b for a, b in after.items() if a in before} == before
        assert all(after[a] == 0 for a in after.keys() - before.keys())  # sub-accounts opened on the way

    @rule(members=st.integers(1, 500), amount=st.integers(1, 10**7), day=DAYS, frequency=st.sampled_from(Frequency))
    def members_pay(self, members, amount, day, frequency):
        attempt(self.db, lambda c: welfare.record_member_contributions(
            self.fund_write(c), on=day, period_from=day.replace(day=1), period_to=day, frequency=frequency,
            member_count=members, amount_satang=amount))  # fmt: skip

    @rule(source=st.sampled_from(MatchingSource), kind=st.sampled_from(MatchingKind), amount=st.integers(1, 10**7),
          day=DAYS, through_codi=st.sampled_from([False, False, True]))  # fmt: skip
    def matching(self, source, kind, amount, day, through_codi):
        refusals = [Rejection.matching_exceeds_due]
        if through_codi and (source, kind) != (MatchingSource.government, MatchingKind.received):
            refusals = [Rejection.invalid_request]  # CODI pays the government's money only
        attempt(self.db, lambda c: welfare.record_matching(
            self.fund_write(c), source=source, kind=kind, amount_satang=amount, on=day, source_party_id=None,
            reference=None, through_codi=through_codi), *refusals)  # fmt: skip

    @rule(kind=st.sampled_from(["birth", "death", "disaster", "lottery"]), amount=st.integers(1, 10**7), day=DAYS)
    def benefit(self, kind, amount, day):
        attempt(self.db, lambda c: welfare.pay_benefit(self.fund_write(c), benefit=kind, beneficiary_ref="M-1",
                                                       amount_satang=amount, on=day),
                Rejection.unknown_benefit_type)  # fmt: skip

    @rule(amount=st.integers(1, 10**6), day=DAYS, override=st.booleans())
    def administration(self, amount, day, override):
        attempt(self.db, lambda c: welfare.record_admin_cost(
            self.fund_write(c), amount_satang=amount, on=day, description="admin",
            override_reason="approved" if override else None), Rejection.administration_cap_exceeded)  # fmt: skip

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def the_journal_balances(self):
        with self.db.read() as c:
            unbalanced = c.execute(text(
                "SELECT entry_id FROM posting GROUP BY entry_id HAVING sum(amount_satang) <> 0")).all()  # fmt: skip
            stored = c.execute(text(
                "SELECT b.book_id, b.balance_satang, coalesce(sum(p.amount_satang), 0) FROM account_balance b "
                "LEFT JOIN posting p ON p.account_id = b.account_id GROUP BY b.account_id, b.book_id, b.balance_satang"
            )).all()  # fmt: skip
        assert unbalanced == []
        assert all(balance == int(total) for _, balance, total in stored)
        by_book = defaultdict(int)
        for book_id, balance, _ in stored:
            by_book[book_id] += balance
        assert set(by_book.values()) <= {0}

    @invariant()
    def each_contribution_is_its_rule_s_rate_times_the_amount(self):
        with self.db.read() as c:
            rules = welfare._rules_of(c, self.enterprises)
        for sale in self.live_sales():
            in_force = rule_in_force(rules.get(sale["enterprise_party_id"], []), channel=Channel(sale["channel"]),
                                     on=sale["effective_date"])  # fmt: skip
            if sale["rule_id"] is None:
                assert in_force is None and sale["contribution_satang"] == 0
            else:
                assert in_force is not None and in_force.id == sale["rule_id"]
                assert sale["contribution_satang"] == contribution_satang(sale["amount_satang"], in_force.rate_percent)

    def _accounts(self, c) -> dict[tuple[int, str], int]:
        return {(a["book_id"], a["code"]): a["balance_satang"] for b in self._books(c)
                for a in books.book_accounts(c, b)}  # fmt: skip

    @invariant()
    def due_is_received_plus_outstanding_and_both_books_agree(self):
        live = self.live_sales()
        with self.db.read() as c:
            accounts = self._accounts(c)
            fund_book = welfare.fund_book(c, self.fund)["id"]
            for enterprise in self.enterprises:
                ent_book = welfare.enterprise_book(c, enterprise)["id"]
                mine = [s for s in live if s["enterprise_party_id"] == enterprise]
                due = sum(s["contribution_satang"] for s in mine)
                received = sum(s["settled_satang"] for s in mine)
                outstanding = accounts.get((fund_book, f"1200-E{enterprise}"), 0)
                assert due == received + outstanding and outstanding >= 0
                assert -accounts.get((ent_book, f"2200-F{self.fund}"), 0) == outstanding
                held = accounts.get((ent_book, f"1400-F{self.fund}"), 0)
                assert held == -accounts.get((fund_book, f"2100-E{enterprise}"), 0) >= 0
                assert held == self._advance_pool(c, enterprise)

    def _books(self, c) -> list[int]:
        return [welfare.fund_book(c, self.fund)["id"], *(welfare.enterprise_book(c, e)["id"] for e in self.enterprises)]

    def _advance_pool(self, c, enterprise: int) -> int:
        """Advances paid + what reversed sales had settled - what sales took from the advance -
        refunds - what settlement reversals took back."""
        s, a, r, t = welfare.sale_t, welfare.allocation_t, welfare.reversal_t, welfare.settlement_t
        f, u = welfare.refund_t, welfare.settlement_reversal_t
        mine = s.c.enterprise_party_id == enterprise

        def total(amount, *where, join=None) -> int:
            query = select(func.coalesce(func.sum(amount), 0)).where(*where)
            return int(c.execute(query if join is None else query.join(*join)).scalar_one())

        paid = total(t.c.advance_satang, t.c.enterprise_party_id == enterprise)
        returned = total(r.c.returned_to_advance_satang, mine, join=(s, s.c.id == r.c.sale_id))
        used = total(a.c.amount_satang, mine, a.c.settlement_id.is_(None), join=(s, s.c.id == a.c.sale_id))
        refunded = total(f.c.amount_satang, f.c.enterprise_party_id == enterprise)
        taken = total(u.c.advance_taken_satang, t.c.enterprise_party_id == enterprise,
                      join=(t, t.c.id == u.c.settlement_id))
        return paid + returned - used - refunded - taken

    @invariant()
    def receivables_as_of_a_day_leave_out_what_came_after_it(self):
        with self.db.read() as c:
            accounts = self._accounts(c)
            fund_book = welfare.fund_book(c, self.fund)["id"]
            for day in (FIRST_DAY + timedelta(days=45), FIRST_DAY + timedelta(days=120), TODAY):
                found = {r["enterprise_party_id"]: r for r in welfare.receivables(c, self.fund, day)}
                expected = self._owed_as_of(c, day)
                assert {e: r["outstanding_satang"] for e, r in found.items()} == expected
                assert all(sum(r["buckets"].values()) == r["outstanding_satang"] for r in found.values())
            for enterprise in self.enterprises:  # on the last day, what the fund's book says is owed
                assert expected.get(enterprise, 0) == accounts.get((fund_book, f"1200-E{enterprise}"), 0)

    def _owed_as_of(self, c, day: date) -> dict[int, int]:
        """Counted from the rows, in Python: each enterprise's sales dated by `day` and not reversed
        by then, less what was paid of them from the advance or by settlements dated by then and not
        reversed by then."""
        r, t, u = welfare.reversal_t, welfare.settlement_t, welfare.settlement_reversal_t
        reversed_on = dict(c.execute(select(r.c.sale_id, r.c.effective_date)).all())
        settled_on = dict(c.execute(select(t.c.id, t.c.effective_date)).all())
        undone_on = dict(c.execute(select(u.c.settlement_id, u.c.effective_date)).all())
        a = welfare.allocation_t
        paid: dict[int, int] = defaultdict(int)
        for sale_id, settlement_id, amount in c.execute(select(a.c.sale_id, a.c.settlement_id, a.c.amount_satang)):
            if settlement_id is None or (settled_on[settlement_id] <= day
                                         and not undone_on.get(settlement_id, date.max) <= day):  # fmt: skip
                paid[sale_id] += amount
        owed: dict[int, int] = defaultdict(int)
        for sale in c.execute(select(welfare.sale_t).where(welfare.sale_t.c.fund_party_id == self.fund)).mappings():
            if sale["effective_date"] <= day and not reversed_on.get(sale["id"], date.max) <= day:
                owed[sale["enterprise_party_id"]] += sale["contribution_satang"] - paid[sale["id"]]
        return {e: x for e, x in owed.items() if x}

    @invariant()
    def what_the_government_paid_through_codi_is_codi_s_expense(self):
        with self.db.read() as c:
            codi = books.book_accounts(c, welfare.codi_fund_book(c, None)["id"])
            balances = {a["code"]: a["balance_satang"] for a in codi}
            [government] = [s for s in welfare.matching_by_source(c, self.fund) if s["source"] == "government"]
        through = government["received_through_codi_satang"]
        assert balances.get(f"5400-W{self.fund}", 0) == through <= government["received_satang"]
        assert balances["1100"] == CASH_SATANG - through

    @invariant()
    def each_matching_source_is_reconciled(self):
        with self.db.read() as c:
            book = welfare.fund_book(c, self.fund)["id"]
            accounts = {a["code"]: a["balance_satang"] for a in books.book_accounts(c, book)}
            for source in welfare.matching_by_source(c, self.fund):
                suffix = welfare.MATCHING_ACCOUNTS[MatchingSource(source["source"])][0]
                assert accounts.get(f"1300-{suffix}", 0) == source["outstanding_satang"] >= 0

    @invariant()
    def administration_stays_within_the_cap_or_is_overridden(self):
        with self.db.read() as c:
            rows = welfare.list_fund_rows(c, welfare.admin_t, self.fund, after=0, limit=10_000)
        for row in rows:
            within = row["spent_before_satang"] + row["amount_satang"] <= row["cap_satang"]
            assert within == (row["override_reason"] is None)


def test_a_welfare_fund_keeps_its_invariants(databases):
    run_state_machine_as_test(
        lambda: WelfareMachine(databases),
        settings=settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
