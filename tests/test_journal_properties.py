"""Hypothesis properties of the journal over the real store (DESIGN.md section 4, invariants 1, 3,
4, 6 and 7): random entries, batches, period closes and reversals against a model kept here,
with a fresh database per example, checked by SQL that bypasses the store's own aggregates."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from ledger.accounts import EntryDraft, Posting
from ledger.calendar import Period
from ledger.errors import LedgerError, Rejection
from store import books, journal, users
from store.engine import Database
from tests.conftest import NOW

SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FEWER = settings(SETTINGS, max_examples=5)  # the reversal and refusal properties write twice as much
FIRST_DAY, LAST_DAY = date(2023, 10, 1), date(2024, 9, 30)  # FY2567
# Debit-or-zero, credit-or-zero and free accounts, and a borrower's sub-ledger account.
CODES = ["1100", "1200", "1200-01", "1290", "2100", "3100", "3200", "4100", "5400"]
RULES = {
    "debit_or_zero": lambda balance: balance >= 0,
    "credit_or_zero": lambda balance: balance <= 0,
    "none": lambda balance: True,
}
Lines = list[tuple[str, int]]


# --- a fresh fund per example ------------------------------------------------------------------


@dataclass
class Fund:
    db: Database
    book_id: int
    user_id: int
    ids: dict[str, int]  # account code -> id
    rules: dict[int, str]  # account id -> balance rule
    other_book_id: int
    other_cash: int


@contextmanager
def fresh_fund(databases) -> Iterator[Fund]:
    database, drop = databases.fresh()
    try:
        with database.write() as c:
            user_id, _ = users.add_user(c, name="officer", role="officer", party_id=None, now=NOW)
            borrower = books.create_party(c, {"kind": "cooperative", "name_th": "สหกรณ์"}, now=NOW)
            book = books.create_book(c, {"code": "FUND", "kind": "fund", "name_th": "กองทุน"}, now=NOW)
            ids = {a["code"]: a["id"] for a in books.book_accounts(c, book["id"])}
            ids["1200-01"] = books.create_account(c, {
                "book_id": book["id"], "code": "1200-01", "name_th": "ลูกหนี้", "type": "asset",
                "balance_rule": "debit_or_zero", "parent_id": ids["1200"], "party_id": borrower["id"],
            }, now=NOW)["id"]  # fmt: skip
            rules = {a["id"]: a["balance_rule"] for a in books.book_accounts(c, book["id"])}
            other = books.create_book(c, {"code": "WF", "kind": "welfare_fund", "name_th": "สวัสดิการ"}, now=NOW)
            other_cash = next(a["id"] for a in books.book_accounts(c, other["id"]) if a["code"] == "1100")
        yield Fund(database, book["id"], user_id, ids, rules, other["id"], other_cash)
    finally:
        drop()


# --- the model ---------------------------------------------------------------------------------


@dataclass
class Model:
    """What the journal should hold: balances, accepted entries, the closed date."""

    rules: dict[int, str]
    balances: dict[int, int] = field(default_factory=dict)
    entries: dict[int, tuple[date, list[Posting]]] = field(default_factory=dict)
    reversed: set[int] = field(default_factory=set)
    reversals: set[int] = field(default_factory=set)
    closed_through: date | None = None

    def __post_init__(self) -> None:
        self.balances = dict.fromkeys(self.rules, 0)

    def refusal(self, day: date, postings: list[Posting]) -> Rejection | None:
        """Why the journal must refuse a balanced entry of this book, or None."""
        if self.closed_through is not None and day <= self.closed_through:
            return Rejection.period_closed
        after = dict(self.balances)
        for posting in postings:
            after[posting.account_id] += posting.amount_satang
        if any(not RULES[self.rules[a]](after[a]) for a in after):
            return Rejection.insufficient_balance
        return None

    def accept(self, entry_id: int, day: date, postings: list[Posting]) -> None:
        assert entry_id not in self.entries and all(entry_id > e for e in self.entries)
        self.entries[entry_id] = (day, postings)
        for posting in postings:
            self.balances[posting.account_id] += posting.amount_satang

    def balances_as_of(self, day: date) -> dict[int, int]:
        result = dict.fromkeys(self.rules, 0)
        for entry_day, postings in self.entries.values():
            if entry_day <= day:
                for posting in postings:
                    result[posting.account_id] += posting.amount_satang
        return result


def draft(fund: Fund, day: date, lines: Lines, reverses: int | None = None) -> EntryDraft:
    postings = tuple(Posting(fund.ids[code], amount) for code, amount in lines)
    return EntryDraft(fund.book_id, day, "manual", "property test", postings, {}, reverses)


def record_one(fund: Fund, entry: EntryDraft) -> int | LedgerError:
    """Record one entry; a refusal is caught inside the transaction, which then commits, so a
    store that wrote anything before refusing would be seen."""
    with fund.db.write() as c:
        try:
            return journal.record_entry(c, entry, recorded_by=fund.user_id, recorded_at=NOW)
        except LedgerError as error:
            return error


def record_batch(fund: Fund, entries: list[EntryDraft]) -> list[int | LedgerError]:
    with fund.db.write() as c:
        return journal.record_entries(c, entries, recorded_by=fund.user_id, recorded_at=NOW)


def close(fund: Fund, through: date) -> dict | LedgerError:
    with fund.db.write() as c:
        try:
            return journal.close_period(c, book_id=fund.book_id, through=through, closed_by=fund.user_id, now=NOW)
        except LedgerError as error:
            return error


def expect(model: Model, entry: EntryDraft, outcome: int | LedgerError) -> None:
    """Check one outcome against the model and, if accepted, apply it."""
    postings = list(entry.postings)
    refusal = model.refusal(entry.effective_date, postings)
    if refusal is None:
        assert isinstance(outcome, int), f"refused {entry}: {outcome}"
        model.accept(outcome, entry.effective_date, postings)
    else:
        assert isinstance(outcome, LedgerError), f"accepted {entry}, expected {refusal}"
        assert outcome.reason == refusal


# --- checks that bypass the store --------------------------------------------------------------


def posting_sums(c, book_id: int, through: date | None = None) -> dict[int, tuple[int, int]]:
    """account id -> (sum of its postings, their count), straight from the posting table."""
    posting = journal.posting_t
    query = select(posting.c.account_id, func.sum(posting.c.amount_satang), func.count()).where(
        posting.c.book_id == book_id
    )
    if through is not None:
        query = query.where(posting.c.effective_date <= through)
    return {a: (int(total), count) for a, total, count in c.execute(query.group_by(posting.c.account_id))}


def check_invariants(fund: Fund, model: Model, query_days: list[date]) -> None:
    with fund.db.read() as c:
        stored = {a["id"]: a for a in books.book_accounts(c, fund.book_id)}
        sums = posting_sums(c, fund.book_id)
        # Invariant 3: the stored balance row is the sum of the account's postings.
        for account_id, account in stored.items():
            total, count = sums.get(account_id, (0, 0))
            assert account["balance_satang"] == total == model.balances[account_id], account["code"]
            assert account["posting_count"] == count
        assert set(sums) <= set(stored)
        # Invariant 4: every book's balances sum to zero (the other book too, never written to).
        assert sum(a["balance_satang"] for a in stored.values()) == 0
        other = books.book_accounts(c, fund.other_book_id)
        assert all(a["balance_satang"] == 0 for a in other)
        # Invariant 1: every stored entry has two or more postings summing to zero.
        unbalanced = c.execute(text(
            "SELECT e.id FROM entry e LEFT JOIN posting p ON p.entry_id = e.id GROUP BY e.id "
            "HAVING count(p.id) < 2 OR coalesce(sum(p.amount_satang), 0) <> 0 "
            "OR sum(CASE WHEN p.amount_satang = 0 THEN 1 ELSE 0 END) > 0"
        )).all()  # fmt: skip
        assert unbalanced == []
        stray = c.execute(text("SELECT count(*) FROM posting WHERE entry_id NOT IN (SELECT id FROM entry)"))
        assert stray.scalar_one() == 0
        assert sorted(r[0] for r in c.execute(text("SELECT id FROM entry"))) == sorted(model.entries)
        # Invariant 3, as of a date: the sum of postings up to the end of that day.
        for day in query_days:
            past = journal.balances_as_of(c, fund.book_id, day)
            raw = posting_sums(c, fund.book_id, day)
            expected = model.balances_as_of(day)
            for account_id in stored:
                assert past.get(account_id, 0) == raw.get(account_id, (0, 0))[0] == expected[account_id], (
                    day, stored[account_id]["code"]
                )  # fmt: skip
            assert sum(past.values()) == 0
            # The same, asked for some accounts (found by account rather than by book).
            some = sorted(stored)[::2]
            assert journal.balances_as_of(c, fund.book_id, day, some) == {a: past[a] for a in some if a in past}
        # The trial balance's columns agree and its control accounts roll up their children.
        rows = journal.trial_balance_rows(c, fund.book_id, None)
        debit = sum(max(r["balance_satang"], 0) for r in rows)
        credit = sum(max(-r["balance_satang"], 0) for r in rows)
        assert debit == credit
        by_code = {r["code"]: r for r in rows}
        loans = by_code["1200"]["balance_satang"] + by_code["1200-01"]["balance_satang"]
        assert by_code["1200"]["rolled_up_balance_satang"] == loans


def boundary_days(days: list[date]) -> list[date]:
    """Dates where a balance as of a day is easiest to get wrong: month edges around `days`."""
    edges = set()
    for day in days:
        start = day.replace(day=1)
        edges |= {day, day - timedelta(days=1), start, start - timedelta(days=1), Period(day.year, day.month).end}
    return sorted(edges)


def snapshot(db: Database) -> dict[str, list]:
    """Everything a refused write must leave as it was."""
    queries = {
        "balances": "SELECT account_id, balance_satang, posting_count FROM account_balance ORDER BY 1",
        "entries": "SELECT id, book_id, effective_date, reverses_entry_id FROM entry ORDER BY 1",
        "postings": "SELECT id, entry_id, account_id, amount_satang FROM posting ORDER BY 1",
        "months": "SELECT account_id, month_start, movement_satang FROM account_month ORDER BY 1, 2",
        "books": "SELECT id, closed_through FROM book ORDER BY 1",
        "closes": "SELECT book_id, closed_through FROM period_close ORDER BY 1, 2",
    }
    with db.read() as c:
        return {name: [tuple(r) for r in c.execute(text(sql))] for name, sql in queries.items()}


# --- strategies --------------------------------------------------------------------------------

days = st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)
months = st.sampled_from([p.end for p in (Period(2023, 10 + i) if i < 3 else Period(2024, i - 2) for i in range(12))])


CODE = st.sampled_from(CODES)


@st.composite
def balanced_lines(draw, codes=CODE, max_amount=10**8) -> Lines:
    debits = draw(st.lists(st.tuples(codes, st.integers(1, max_amount)), min_size=1, max_size=2))
    total = sum(amount for _, amount in debits)
    credit_codes = draw(st.lists(codes, min_size=1, max_size=2))
    if len(credit_codes) == 2 and total > 1:
        first = draw(st.integers(1, total - 1))
        credits = [(credit_codes[0], -first), (credit_codes[1], first - total)]
    else:
        credits = [(credit_codes[0], -total)]
    return draw(st.permutations(debits + credits))


opening = st.tuples(days, st.integers(10**6, 10**9))  # cash in from fund capital


def open_fund(fund: Fund, model: Model, day: date, amount: int) -> None:
    entry = draft(fund, day, [("1100", amount), ("3100", -amount)])
    expect(model, entry, record_one(fund, entry))
    assert model.entries, "the opening entry must be accepted"


# --- the properties ----------------------------------------------------------------------------

operation = st.one_of(
    st.tuples(st.just("entry"), days, balanced_lines()),
    st.tuples(st.just("batch"), st.lists(st.tuples(days, balanced_lines()), min_size=2, max_size=4)),
    st.tuples(st.just("close"), months),
)


@SETTINGS
@given(opening=opening, operations=st.lists(operation, min_size=1, max_size=8), query=st.lists(days, max_size=4))
def test_balances_equal_postings_now_and_as_of_any_date(databases, opening, operations, query):
    """Invariants 1, 3, 4 and 6 after random entries, batches and period closes: each entry is
    accepted or refused as the model says, and stored balances are the sums of postings."""
    with fresh_fund(databases) as fund:
        model = Model(fund.rules)
        open_fund(fund, model, *opening)
        for op in operations:
            if op[0] == "entry":
                entry = draft(fund, op[1], op[2])
                expect(model, entry, record_one(fund, entry))
            elif op[0] == "batch":
                # A batch checks each draft against the balances the earlier ones leave.
                entries = [draft(fund, day, lines) for day, lines in op[1]]
                outcomes = record_batch(fund, entries)
                assert len(outcomes) == len(entries)
                for entry, outcome in zip(entries, outcomes, strict=True):
                    expect(model, entry, outcome)
            else:
                result = close(fund, op[1])
                if model.closed_through is not None and op[1] <= model.closed_through:
                    assert isinstance(result, LedgerError) and result.reason == Rejection.period_not_closable
                else:
                    assert not isinstance(result, LedgerError) and result["closed_through"] == op[1]
                    model.closed_through = op[1]
        entry_days = [day for day, _ in model.entries.values()]
        check_invariants(fund, model, boundary_days(entry_days) + query + [LAST_DAY + timedelta(days=400)])


@FEWER
@given(opening=opening, entries=st.lists(st.tuples(days, balanced_lines()), min_size=1, max_size=5))
def test_reversing_newest_first_restores_every_earlier_state(databases, opening, entries):
    """Invariant 7: reversing entries newest first always succeeds, and after each reversal
    every balance is what it was before the entry it reverses; then all are zero."""
    with fresh_fund(databases) as fund:
        model = Model(fund.rules)
        before: dict[int, dict[int, int]] = {}
        for day, lines in [(opening[0], [("1100", opening[1]), ("3100", -opening[1])]), *entries]:
            state = dict(model.balances)
            entry = draft(fund, day, lines)
            outcome = record_one(fund, entry)
            expect(model, entry, outcome)
            if isinstance(outcome, int):
                before[outcome] = state
        for entry_id in sorted(before, reverse=True):
            with fund.db.write() as c:
                reversal_id = journal.reverse_entry(
                    c, entry_id=entry_id, effective_date=None, description=None,
                    recorded_by=fund.user_id, recorded_at=NOW,
                )  # fmt: skip
                reversal = journal.get_entry(c, reversal_id)
                original = journal.get_entry(c, entry_id)
            assert reversal["reverses_entry_id"] == entry_id and original["reversed_by_entry_id"] == reversal_id
            assert reversal["effective_date"] == original["effective_date"]
            undone = sorted((p["account_id"], -p["amount_satang"]) for p in reversal["postings"])
            assert undone == sorted((p["account_id"], p["amount_satang"]) for p in original["postings"])
            day, postings = model.entries[entry_id]
            model.accept(reversal_id, day, [Posting(p.account_id, -p.amount_satang) for p in postings])
            assert model.balances == before[entry_id]
            with fund.db.read() as c:
                stored = {a["id"]: a["balance_satang"] for a in books.book_accounts(c, fund.book_id)}
            assert stored == before[entry_id]
        assert all(balance == 0 for balance in model.balances.values())
        check_invariants(fund, model, boundary_days([d for d, _ in model.entries.values()]))


@FEWER
@given(
    opening=opening,
    entries=st.lists(st.tuples(days, balanced_lines()), min_size=1, max_size=4),
    order=st.randoms(use_true_random=False),
    dated=st.none() | days,
)
def test_reversals_in_any_order_happen_once_and_keep_the_rules(databases, opening, entries, order, dated):
    """Invariants 6 and 7: a reversal in any order is accepted exactly when it breaks no
    balance rule; an entry, or a reversal, is never reversed a second time."""
    with fresh_fund(databases) as fund:
        model = Model(fund.rules)
        open_fund(fund, model, *opening)
        for day, lines in entries:
            entry = draft(fund, day, lines)
            expect(model, entry, record_one(fund, entry))
        originals = list(model.entries)
        targets = originals + originals[:2]  # some twice
        order.shuffle(targets)
        for entry_id in targets:
            before = snapshot(fund.db)
            with fund.db.write() as c:
                try:
                    outcome = journal.reverse_entry(
                        c, entry_id=entry_id, effective_date=dated, description=None,
                        recorded_by=fund.user_id, recorded_at=NOW,
                    )  # fmt: skip
                except LedgerError as error:
                    outcome = error
            day, postings = model.entries[entry_id]
            undo = [Posting(p.account_id, -p.amount_satang) for p in postings]
            if entry_id in model.reversed or entry_id in model.reversals:
                expected = Rejection.already_reversed
            else:
                expected = model.refusal(dated or day, undo)
            if expected is None:
                assert isinstance(outcome, int), outcome
                model.accept(outcome, dated or day, undo)
                model.reversed.add(entry_id)
                model.reversals.add(outcome)
            else:
                assert isinstance(outcome, LedgerError) and outcome.reason == expected
                assert snapshot(fund.db) == before
        for reversal_id in sorted(model.reversals):
            with fund.db.write() as c, pytest.raises(LedgerError) as caught:
                journal.reverse_entry(c, entry_id=reversal_id, effective_date=None, description=None,
                                      recorded_by=fund.user_id, recorded_at=NOW)  # fmt: skip
            assert caught.value.reason == Rejection.already_reversed
        check_invariants(fund, model, boundary_days([d for d, _ in model.entries.values()]))


def test_an_entry_may_pass_a_rule_on_the_way_to_a_balance_that_keeps_it(databases):
    """Invariant 6 is about the balance an entry leaves, not the order of its postings: an entry
    that credits cash before debiting it more nets to a debit, and must be accepted; so must the
    reversal of an entry that debits cash before crediting it."""
    with fresh_fund(databases) as fund:
        model = Model(fund.rules)
        credit_first = draft(fund, date(2024, 6, 1), [("1100", -100), ("1100", 200), ("3100", -100)])
        expect(model, credit_first, record_one(fund, credit_first))
        debit_first = draft(fund, date(2024, 6, 2), [("1100", 500), ("1100", -300), ("3100", -200)])
        entry_id = record_one(fund, debit_first)
        expect(model, debit_first, entry_id)
        with fund.db.write() as c:
            reversal_id = journal.reverse_entry(
                c, entry_id=entry_id, effective_date=None, description=None,
                recorded_by=fund.user_id, recorded_at=NOW,
            )  # fmt: skip
        undo = [Posting(p.account_id, -p.amount_satang) for p in debit_first.postings]
        model.accept(reversal_id, date(2024, 6, 2), undo)
        check_invariants(fund, model, [date(2024, 6, 1), date(2024, 6, 2)])


REFUSAL_KINDS = [
    "unbalanced", "one_posting", "zero_posting", "closed_period", "insufficient_balance",
    "other_book", "unknown_account", "unknown_book", "reverse_into_closed", "close_earlier",
]  # fmt: skip


@FEWER
@given(
    opening=opening,
    entries=st.lists(st.tuples(days, balanced_lines()), max_size=4),
    closed=months,
    kinds=st.permutations(REFUSAL_KINDS),  # every kind, in any order, each example
    data=st.data(),
)
def test_refused_writes_change_nothing(databases, opening, entries, closed, kinds, data):
    """Invariants 1 and 6: an unbalanced entry, one dated in a closed period, one that would
    overdraw an account, or one naming another book's account is refused with its reason,
    and leaves every balance, entry, posting, monthly movement and period as it was."""
    with fresh_fund(databases) as fund:
        model = Model(fund.rules)
        open_fund(fund, model, *opening)
        for day, lines in entries:
            entry = draft(fund, day, lines)
            expect(model, entry, record_one(fund, entry))
        assert not isinstance(close(fund, closed), LedgerError)
        model.closed_through = closed
        for kind in kinds:
            before = snapshot(fund.db)
            outcome, reason = refuse(fund, model, kind, data)
            assert isinstance(outcome, LedgerError), f"{kind} was accepted"
            assert outcome.reason == reason, (kind, outcome)
            assert snapshot(fund.db) == before, kind
        check_invariants(fund, model, boundary_days([closed, *[d for d, _ in model.entries.values()]]))


def refuse(fund: Fund, model: Model, kind: str, data) -> tuple[int | LedgerError | dict, Rejection]:
    """Attempt one write that must be refused; returns its outcome and the reason expected."""
    open_days = st.dates(min_value=model.closed_through + timedelta(days=1), max_value=LAST_DAY)
    day = data.draw(open_days) if model.closed_through < LAST_DAY else LAST_DAY + timedelta(days=1)
    amount = data.draw(st.integers(1, 10**8))
    if kind == "unbalanced":
        error = data.draw(st.integers(-5, 5).filter(lambda e: e not in (0, amount)))  # no posting of zero
        lines = [("1100", amount), ("3100", -amount + error)]
        return record_one(fund, draft(fund, day, lines)), Rejection.unbalanced_entry
    if kind == "one_posting":
        return record_one(fund, draft(fund, day, [("5400", amount)])), Rejection.too_few_postings
    if kind == "zero_posting":
        lines = [("1100", amount), ("4100", 0), ("3100", -amount)]
        return record_one(fund, draft(fund, day, lines)), Rejection.amount_must_not_be_zero
    if kind == "closed_period":
        past = data.draw(st.dates(min_value=date(2020, 1, 1), max_value=model.closed_through))
        lines = [("1100", amount), ("3100", -amount)]
        return record_one(fund, draft(fund, past, lines)), Rejection.period_closed
    if kind == "insufficient_balance":
        code = data.draw(st.sampled_from(["1100", "1200-01", "3100", "2100"]))
        account_id = fund.ids[code]
        too_far = model.balances[account_id] + amount if fund.rules[account_id] == "debit_or_zero" else (
            model.balances[account_id] - amount
        )  # fmt: skip
        lines = [(code, -too_far), ("3200", too_far)]
        return record_one(fund, draft(fund, day, lines)), Rejection.insufficient_balance
    if kind in ("other_book", "unknown_account"):
        stranger = fund.other_cash if kind == "other_book" else 10**6
        postings = (Posting(fund.ids["1100"], amount), Posting(stranger, -amount))
        entry = EntryDraft(fund.book_id, day, "manual", "stranger", postings)
        reason = Rejection.account_not_in_book if kind == "other_book" else Rejection.not_found
        return record_one(fund, entry), reason
    if kind == "unknown_book":
        postings = (Posting(fund.ids["1100"], amount), Posting(fund.ids["3100"], -amount))
        return record_one(fund, EntryDraft(10**6, day, "manual", "nowhere", postings)), Rejection.not_found
    if kind == "reverse_into_closed":
        earliest = FIRST_DAY - timedelta(days=60)
        past = data.draw(st.dates(min_value=earliest, max_value=model.closed_through))
        outcome = record_one(fund, draft(fund, past, [("1100", amount), ("3100", -amount)]))
        assert isinstance(outcome, LedgerError) and outcome.reason == Rejection.period_closed
        closed_entries = [e for e, (d, _) in model.entries.items() if d <= model.closed_through]
        if closed_entries:
            with fund.db.write() as c:
                try:
                    outcome = journal.reverse_entry(
                        c, entry_id=closed_entries[0], effective_date=None, description=None,
                        recorded_by=fund.user_id, recorded_at=NOW,
                    )  # fmt: skip
                except LedgerError as error:
                    outcome = error
        return outcome, Rejection.period_closed
    assert kind == "close_earlier"
    earlier = data.draw(st.dates(min_value=date(2020, 1, 1), max_value=model.closed_through))
    return close(fund, earlier), Rejection.period_not_closable
