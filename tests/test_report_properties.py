"""Hypothesis properties of the statements (issue 6): the trial balance always sums to zero, at
any depth and in each period column; assets = liabilities + equity + (income - expenses) before
the year-end close and assets = liabilities + equity after it; consolidation eliminates exactly
the inter-book balances; and, over the real store, the statement of financial position at the
end of any month equals the opening of the next, close or no close, and both equal a model."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger.accounts import AccountType, EntryDraft, Posting
from ledger.calendar import fiscal_year_of, month_end
from ledger.reports import (
    INTER_BOOK_DIFFERENCE,
    ReportAccount,
    closing_entries,
    consolidate,
    financial_position,
    period_trial_balance,
    tree_lines,
)  # fmt: skip
from store import books, journal, reports, users, year_end
from tests.conftest import NOW
from tests.test_journal_properties import SETTINGS

TYPES = list(AccountType)


@st.composite
def charts(draw, book_id: int = 1, first_id: int = 1, parties: tuple[int, ...] = ()) -> list[ReportAccount]:
    """A book's accounts: one of each type at the top, then sub-accounts under random parents,
    some carrying a party."""
    accounts = [ReportAccount(first_id + i, book_id, f"{i + 1}000", t.value, t.value, t) for i, t in enumerate(TYPES)]
    for n in range(draw(st.integers(0, 6))):
        parent = draw(st.sampled_from(accounts))
        party = draw(st.sampled_from((None, *parties)))
        account_id = first_id + len(TYPES) + n
        accounts.append(ReportAccount(account_id, book_id, f"{parent.code}-{n}", "s", "s", parent.type, parent.id,
                                      party))  # fmt: skip
    return accounts


def journal_of(draw, accounts: list[ReportAccount]) -> dict[int, int]:
    """The balances left by random balanced entries over the accounts."""
    result: dict[int, int] = {}
    for _ in range(draw(st.integers(0, 12))):
        debit, credit = draw(st.sampled_from(accounts)), draw(st.sampled_from(accounts))
        amount = draw(st.integers(1, 10**9))
        result[debit.id] = result.get(debit.id, 0) + amount
        result[credit.id] = result.get(credit.id, 0) - amount
    return result


@st.composite
def books_with_balances(draw) -> tuple[list[ReportAccount], dict[int, int]]:
    accounts = draw(charts())
    return accounts, journal_of(draw, accounts)


@given(books_with_balances(), st.integers(1, 3))
def test_the_trial_balance_sums_to_zero_at_every_depth(book, depth):
    accounts, balances = book
    for lines in (tree_lines(accounts, balances), tree_lines(accounts, balances, depth=depth)):
        assert sum(line.debit_satang for line in lines) == sum(line.credit_satang for line in lines)
        assert sum(line.balance_satang for line in lines) == 0


@given(books_with_balances(), books_with_balances())
def test_the_period_columns_each_sum_to_zero(opening_book, closing_book):
    accounts = opening_book[0]
    later = {a: b for a, b in closing_book[1].items() if a <= len(accounts)}
    later[accounts[0].id] = later.get(accounts[0].id, 0) - sum(later.values())  # rebalanced on the first account
    lines = period_trial_balance(accounts, opening_book[1], later)
    for column in ("opening_satang", "movement_satang", "closing_satang"):
        assert sum(getattr(line, column) for line in lines) == 0


@given(books_with_balances(), st.integers(2, 5))
def test_assets_equal_liabilities_equity_and_surplus_before_the_close_and_without_it_after(book, max_postings):
    accounts, balances = book
    before = financial_position(accounts, balances, {})
    assets, claims = before.total(AccountType.asset)[0], before.total_liabilities_and_equity[0]
    surplus = next(a.id for a in accounts if a.type is AccountType.equity)
    assert assets == claims
    after = dict(balances)
    for postings in closing_entries(accounts, balances, surplus, max_postings):
        assert len(postings) <= max_postings and sum(p.amount_satang for p in postings) == 0
        for posting in postings:
            after[posting.account_id] = after.get(posting.account_id, 0) + posting.amount_satang
    closed = financial_position(accounts, after, balances)
    assert closed.unclosed_surplus_satang == 0
    assert closed.total(AccountType.asset)[0] == assets
    assert assets == closed.total(AccountType.liability)[0] + closed.total(AccountType.equity)[0]
    assert all(after.get(a.id, 0) == 0 for a in accounts if a.type in (AccountType.income, AccountType.expense))


@st.composite
def groups(draw) -> tuple[list[ReportAccount], dict[int, int], dict[int, int | None]]:
    """Two or three books owned by parties 101, 102, 103, whose sub-accounts may carry those
    parties (inter-book) or outsiders (104)."""
    count = draw(st.integers(2, 3))
    owners = {book: 100 + book for book in range(1, count + 1)}
    accounts: list[ReportAccount] = []
    balances: dict[int, int] = {}
    for book in owners:
        chart = draw(charts(book, 100 * book, (101, 102, 103, 104)))
        accounts += chart
        balances |= journal_of(draw, chart)
    return accounts, balances, owners


@given(groups())
def test_consolidation_eliminates_exactly_the_inter_book_balances(group):
    accounts, balances, owners = group
    result = consolidate(accounts, balances, owners)
    inter_book = {a.id for a in accounts if a.party_id in owners.values() and owners[a.book_id] != a.party_id}
    assert set(result.eliminations) == {a for a in inter_book if balances.get(a)}
    for account in accounts:
        expected = 0 if account.id in inter_book else balances.get(account.id, 0)
        assert result.balances[account.id] == expected
    assert sum(result.balances.values()) == 0
    assert result.balances.get(INTER_BOOK_DIFFERENCE.id, 0) == sum(balances.get(a, 0) for a in inter_book)


# --- over the real store -----------------------------------------------------------------------

FIRST_DAY = date(2023, 10, 1)  # FY2567 and FY2568: two years of days
DAYS = 730
# Debits only to accounts a debit cannot break, credits only to accounts a credit cannot break.
DEBITED, CREDITED = ("1100", "1200", "5400", "5500"), ("2100", "3100", "4100")


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, DAYS - 1), st.sampled_from(DEBITED), st.sampled_from(CREDITED),
                       st.integers(1, 10**8)), min_size=1, max_size=12),
    st.integers(0, 22), st.booleans(),
)  # fmt: skip
def test_the_position_at_the_end_of_a_month_is_the_opening_of_the_next(databases, moves, month, close_first_year):
    database, drop = databases.fresh()
    try:
        with database.write() as c:
            user, _ = users.add_user(c, name="admin", role="admin", party_id=None, now=NOW)
            book = books.create_book(c, {"code": "F", "kind": "fund", "name_th": "กองทุน"}, now=NOW)["id"]
            ids = {a["code"]: a["id"] for a in books.book_accounts(c, book)}
            drafts = [EntryDraft(book, FIRST_DAY + timedelta(days=d), "manual", "m",
                                 (Posting(ids[debit], n), Posting(ids[credit], -n)))
                      for d, debit, credit, n in moves]  # fmt: skip
            journal.record_entries(c, drafts, recorded_by=user, recorded_at=NOW)
            if close_first_year:
                year_end.close_year(c, book_id=book, fiscal_year=2567, today=date(2025, 1, 1), closed_by=user, now=NOW)
        with database.read() as c:
            accounts = reports.report_accounts(c, [book])
            end = month_end(date(2023 + (9 + month) // 12, (9 + month) % 12 + 1, 1))
            at_end = reports.balances(c, [book], end)
            opening = reports.opening_balances(c, [book], end + timedelta(days=1), None)
            closing_postings = reports.closing_movements(c, [book], FIRST_DAY, end)
        model: dict[int, int] = {}  # the entries up to the month's end, and the closing entry if it is dated by then
        for posting in [p for d in drafts if d.effective_date <= end for p in d.postings]:
            model[posting.account_id] = model.get(posting.account_id, 0) + posting.amount_satang
        for account_id, amount in closing_postings.items():
            model[account_id] = model.get(account_id, 0) + amount
        nonzero = {a: b for a, b in model.items() if b}
        assert {a: b for a, b in at_end.items() if b} == nonzero == {a: b for a, b in opening.items() if b}
        position = financial_position(accounts, at_end, opening)
        assert all(line.amount_satang == line.prior_satang for line in position.lines)
        if close_first_year and end == date(2024, 9, 30):
            assert position.unclosed_surplus_satang == 0
    finally:
        drop()


THREE_YEARS_FROM = date(2022, 10, 1)  # FY2566, FY2567 and FY2568
INCOME_OR_EXPENSE = {"4100", "5400", "5500"}


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, 1095), st.sampled_from(DEBITED), st.sampled_from(CREDITED),
                       st.integers(1, 10**8)), min_size=1, max_size=10),
)  # fmt: skip
def test_a_year_without_income_or_expenses_need_not_be_closed_and_skipping_it_changes_nothing(databases, moves):
    """Closing only the years the rule asks for before FY2568 (those with an income or expense
    posting, oldest first) leaves FY2568 closed with the same balances carried forward, the same
    surplus and the same lock as closing FY2566, FY2567 and FY2568 one after the other."""
    database, drop = databases.fresh()
    try:
        with database.write() as c:
            user, _ = users.add_user(c, name="admin", role="admin", party_id=None, now=NOW)
            every_year, as_asked = (
                books.create_book(c, {"code": code, "kind": "fund", "name_th": "กองทุน"}, now=NOW)["id"]
                for code in ("A", "B")
            )  # fmt: skip
            codes = {}
            for book in (every_year, as_asked):
                ids = {a["code"]: a["id"] for a in books.book_accounts(c, book)}
                codes.update({i: code for code, i in ids.items()})
                drafts = [EntryDraft(book, THREE_YEARS_FROM + timedelta(days=d), "manual", "m",
                                     (Posting(ids[debit], n), Posting(ids[credit], -n)))
                          for d, debit, credit, n in moves]  # fmt: skip
                journal.record_entries(c, drafts, recorded_by=user, recorded_at=NOW)
            today = date(2025, 10, 1)

            def close(book: int, fiscal_year: int) -> dict:
                return year_end.close_year(c, book_id=book, fiscal_year=fiscal_year, today=today, closed_by=user,
                                           now=NOW)  # fmt: skip

            for fiscal_year in (2566, 2567, 2568):
                last = close(every_year, fiscal_year)
            with_income = sorted({fiscal_year_of(THREE_YEARS_FROM + timedelta(days=d)) for d, debit, credit, _ in moves
                                  if {debit, credit} & INCOME_OR_EXPENSE})  # fmt: skip
            closed = []
            while found := year_end.blockers(c, book_id=as_asked, fiscal_year=2568, today=today):
                [blocker] = found
                assert blocker.kind == "earlier_year_open"
                close(as_asked, blocker.fiscal_year)
                closed.append(blocker.fiscal_year)
            assert closed == [year for year in with_income if year < 2568]
            asked = close(as_asked, 2568)
            assert asked["surplus_satang"] == last["surplus_satang"]
            assert ({codes[a]: b for a, b in asked["carried_forward"].items()}
                    == {codes[a]: b for a, b in last["carried_forward"].items()})  # fmt: skip
            closed_through = {books.get_book(c, b)["closed_through"] for b in (every_year, as_asked)}
            assert closed_through == {date(2025, 9, 30)}
    finally:
        drop()
