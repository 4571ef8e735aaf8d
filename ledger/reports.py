"""Reports computed from balances and postings that the caller supplies.

A trial balance lists each account's balance in a debit or a credit column; because every entry
balances, the columns are equal (invariant 4). Control accounts show their own postings plus
everything below them (`rolled_up`); a trial balance cut at a depth shows a control account
rolled up, and a drill-down shows one control account's subtree. With period columns, each
account's opening, movement and closing balance; each column sums to zero.

The statements present balances in their normal sign. The statement of financial position keeps

    assets = liabilities + equity + (income - expenses not yet closed)

and after a year-end close (`closing_entries`: income and expenses brought to zero, the net into
accumulated surplus) the last term is zero. The income statement shows a period's movements
without the closing entries. Every statement carries the comparative period beside it.

A consolidation adds up several books and eliminates the inter-book balances (`consolidate`).
An account statement starts from the opening balance and carries a running balance through each
line to the closing balance; the general ledger is every account's statement.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from ledger.accounts import MAX_POSTINGS_PER_ENTRY, AccountType, Posting
from ledger.charts import BookKind


class DebitOrCredit:
    """A signed balance shown in the debit column (positive) or the credit column (negative)."""

    balance_satang: int

    @property
    def debit_satang(self) -> int:
        return max(self.balance_satang, 0)

    @property
    def credit_satang(self) -> int:
        return max(-self.balance_satang, 0)


@dataclass(frozen=True)
class TrialBalanceLine(DebitOrCredit):
    account_id: int
    balance_satang: int


@dataclass(frozen=True)
class TrialBalance:
    lines: tuple[TrialBalanceLine, ...]

    @property
    def total_debit_satang(self) -> int:
        return sum(line.debit_satang for line in self.lines)

    @property
    def total_credit_satang(self) -> int:
        return sum(line.credit_satang for line in self.lines)


def trial_balance(balances: Mapping[int, int]) -> TrialBalance:
    """One line per account, in the order given; the two columns must agree."""
    result = TrialBalance(tuple(TrialBalanceLine(a, b) for a, b in balances.items()))
    assert result.total_debit_satang == result.total_credit_satang, "a book does not balance"
    return result


def rolled_up(balances: Mapping[int, int], parents: Mapping[int, int | None]) -> dict[int, int]:
    """Each account's balance plus the balances of all accounts below it."""
    totals = dict.fromkeys(parents, 0)
    for account_id, balance in balances.items():
        node: int | None = account_id
        while node is not None:
            totals[node] += balance
            node = parents[node]
    return totals


class StatementLine(NamedTuple):
    """A line of a statement: a named tuple, as a streamed statement makes one a posting."""

    entry_id: int
    effective_date: date
    description: str
    amount_satang: int
    running_balance_satang: int


@dataclass(frozen=True)
class Statement:
    opening_balance_satang: int
    lines: tuple[StatementLine, ...]
    closing_balance_satang: int


def running_lines(
    opening_balance_satang: int, movements: Iterable[tuple[int, date, str, int]]
) -> Iterator[StatementLine]:
    """Each (entry id, date, description, amount), in the order given, with the balance after it,
    one at a time: a streamed statement holds one line, and a page of one starts from the balance
    before its first line."""
    running = opening_balance_satang
    for entry_id, day, description, amount in movements:
        running += amount
        yield StatementLine(entry_id, day, description, amount, running)


def statement(opening_balance_satang: int, movements: Iterable[tuple[int, date, str, int]]) -> Statement:
    """Running balances over (entry id, date, description, amount) in the order given."""
    lines = tuple(running_lines(opening_balance_satang, movements))
    closing = lines[-1].running_balance_satang if lines else opening_balance_satang
    return Statement(opening_balance_satang, lines, closing)


# --- the accounts a report speaks of ------------------------------------------------------------


@dataclass(frozen=True)
class ReportAccount:
    """An account as the statements see it: where it sits in its book's tree, and whose it is."""

    id: int
    book_id: int
    code: str
    name_en: str
    name_th: str
    type: AccountType
    parent_id: int | None = None
    party_id: int | None = None


# Each book kind closes its year into this equity account (ledger.charts): accumulated surplus
# for the funds and an organisation, retained earnings for an enterprise (whose 3200 is its legal
# reserve, as an organisation's is).
SURPLUS_ACCOUNT_CODE = {BookKind.fund: "3200", BookKind.welfare_fund: "3200", BookKind.enterprise: "3300",
                        BookKind.organisation: "3300"}
# The line of a consolidation that holds inter-book balances which do not cancel each other.
INTER_BOOK_DIFFERENCE = ReportAccount(
    0, 0, "9999", "Unreconciled inter-book balances", "ยอดระหว่างสมุดบัญชีที่ยังไม่กระทบยอด", AccountType.equity
)
TEMPORARY_TYPES = (AccountType.income, AccountType.expense)


def _depths(accounts: Sequence[ReportAccount]) -> dict[int, int]:
    parents = {a.id: a.parent_id for a in accounts}
    depths: dict[int, int] = {}
    for account in accounts:
        depth, node = 1, account.parent_id
        while node is not None:
            depth, node = depth + 1, parents[node]
        depths[account.id] = depth
    return depths


# --- trial balance as a tree, and with period columns ------------------------------------------


@dataclass(frozen=True)
class TreeLine(DebitOrCredit):
    """A trial balance line: `balance_satang` is the account's own when its sub-accounts are
    shown below it, and rolled up from them when they are not, so the shown lines always add
    up to the whole of what is shown."""

    account: ReportAccount
    level: int
    balance_satang: int
    rolled_up_satang: int


def tree_lines(
    accounts: Sequence[ReportAccount], balances: Mapping[int, int], *, depth: int | None = None,
    under: int | None = None,
) -> tuple[TreeLine, ...]:  # fmt: skip
    """The accounts (in the order given) down to `depth` levels, or only the subtree of the
    control account `under` (a drill-down), control accounts rolled up where their children are
    cut off."""
    levels = _depths(accounts)
    parents = {a.id: a.parent_id for a in accounts}
    totals = rolled_up({a.id: balances.get(a.id, 0) for a in accounts}, parents)
    children = {a.parent_id for a in accounts if depth is None or levels[a.id] <= depth}

    def inside(account_id: int) -> bool:
        node: int | None = account_id
        while node is not None and node != under:
            node = parents[node]
        return under is None or node == under

    shown = [a for a in accounts if (depth is None or levels[a.id] <= depth) and inside(a.id)]
    return tuple(
        TreeLine(a, levels[a.id], balances.get(a.id, 0) if a.id in children else totals[a.id], totals[a.id])
        for a in shown
    )


@dataclass(frozen=True)
class PeriodLine:
    account: ReportAccount
    opening_satang: int
    closing_satang: int

    @property
    def movement_satang(self) -> int:
        return self.closing_satang - self.opening_satang


def period_trial_balance(
    accounts: Sequence[ReportAccount], opening: Mapping[int, int], closing: Mapping[int, int]
) -> tuple[PeriodLine, ...]:
    """Opening, movement and closing balance of every account; each column sums to zero."""
    lines = tuple(PeriodLine(a, opening.get(a.id, 0), closing.get(a.id, 0)) for a in accounts)
    assert sum(line.opening_satang for line in lines) == 0, "the opening balances do not balance"
    assert sum(line.closing_satang for line in lines) == 0, "the closing balances do not balance"
    return lines


# --- statements: financial position and income -------------------------------------------------


@dataclass(frozen=True)
class SectionLine:
    """A line of a statement: a top-level account (its sub-accounts rolled up), or the same code
    and name across the books of a consolidation, in its normal sign (a liability's credit
    balance is a positive liability), for the period and the comparative one."""

    code: str
    name_en: str
    name_th: str
    type: AccountType
    amount_satang: int
    prior_satang: int


def statement_lines(
    accounts: Sequence[ReportAccount], balances: Mapping[int, int], prior: Mapping[int, int],
    types: Sequence[AccountType],
) -> tuple[SectionLine, ...]:  # fmt: skip
    """Top-level accounts of the given types, rolled up, merged by (type, code, name) across
    books, in code order; lines that are zero in both columns are left out."""
    parents = {a.id: a.parent_id for a in accounts}
    now = rolled_up({a.id: balances.get(a.id, 0) for a in accounts}, parents)
    then = rolled_up({a.id: prior.get(a.id, 0) for a in accounts}, parents)
    merged: dict[tuple, list[int]] = {}
    for account in accounts:
        if account.parent_id is None and account.type in types:
            key = (account.code, account.name_en, account.name_th, account.type)
            sums = merged.setdefault(key, [0, 0])
            sign = account.type.normal_sign
            sums[0] += sign * now[account.id]
            sums[1] += sign * then[account.id]
    return tuple(
        SectionLine(code, en, th, kind, current, earlier)
        for (code, en, th, kind), (current, earlier) in sorted(merged.items(), key=lambda item: item[0][:2])
        if current or earlier
    )


def _total(lines: Iterable[SectionLine], kind: AccountType | None = None) -> tuple[int, int]:
    chosen = [line for line in lines if kind is None or line.type is kind]
    return sum(line.amount_satang for line in chosen), sum(line.prior_satang for line in chosen)


def _surplus(accounts: Sequence[ReportAccount], balances: Mapping[int, int]) -> int:
    """Income less expenses in the balances given: minus their signed sum (income is a credit)."""
    return -sum(balances.get(a.id, 0) for a in accounts if a.type in TEMPORARY_TYPES)


@dataclass(frozen=True)
class FinancialPosition:
    """Assets = liabilities + equity + the surplus not yet closed into equity (income less
    expenses since the last year-end close); after a close that surplus is zero."""

    lines: tuple[SectionLine, ...]
    unclosed_surplus_satang: int
    prior_unclosed_surplus_satang: int

    def total(self, kind: AccountType) -> tuple[int, int]:
        return _total(self.lines, kind)

    @property
    def total_liabilities_and_equity(self) -> tuple[int, int]:
        liabilities, equity = self.total(AccountType.liability), self.total(AccountType.equity)
        return (liabilities[0] + equity[0] + self.unclosed_surplus_satang,
                liabilities[1] + equity[1] + self.prior_unclosed_surplus_satang)  # fmt: skip


def financial_position(
    accounts: Sequence[ReportAccount], balances: Mapping[int, int], prior: Mapping[int, int]
) -> FinancialPosition:
    types = (AccountType.asset, AccountType.liability, AccountType.equity)
    result = FinancialPosition(
        statement_lines(accounts, balances, prior, types), _surplus(accounts, balances), _surplus(accounts, prior)
    )
    assert result.total(AccountType.asset) == result.total_liabilities_and_equity, "assets <> liabilities + equity"
    return result


@dataclass(frozen=True)
class IncomeStatement:
    """Income and expenses of a period (its movements, before any year-end closing entry)."""

    lines: tuple[SectionLine, ...]

    def total(self, kind: AccountType) -> tuple[int, int]:
        return _total(self.lines, kind)

    @property
    def surplus(self) -> tuple[int, int]:
        income, expenses = self.total(AccountType.income), self.total(AccountType.expense)
        return income[0] - expenses[0], income[1] - expenses[1]


def income_statement(
    accounts: Sequence[ReportAccount], movements: Mapping[int, int], prior: Mapping[int, int]
) -> IncomeStatement:
    return IncomeStatement(statement_lines(accounts, movements, prior, TEMPORARY_TYPES))


def movements_between(
    opening: Mapping[int, int], closing: Mapping[int, int], *excluded: Mapping[int, int]
) -> dict[int, int]:
    """Each account's movement from `opening` to `closing`, less the `excluded` movements (the
    closing entries, which an income statement does not show)."""
    result = {a: closing.get(a, 0) - opening.get(a, 0) for a in opening.keys() | closing.keys()}
    for movement in excluded:
        for account_id, amount in movement.items():
            result[account_id] = result.get(account_id, 0) - amount
    return result


def prior_period(date_from: date, date_to: date) -> tuple[date, date]:
    """The same dates one year earlier: the comparative period (29 February becomes the 28th).

    >>> prior_period(date(2023, 10, 1), date(2024, 9, 30))
    (datetime.date(2022, 10, 1), datetime.date(2023, 9, 30))
    """
    return date_from - relativedelta(years=1), date_to - relativedelta(years=1)


# --- general ledger ----------------------------------------------------------------------------


def general_ledger(
    accounts: Sequence[ReportAccount], opening: Mapping[int, int],
    movements: Iterable[tuple[int, int, date, str, int]],
) -> tuple[tuple[ReportAccount, Statement], ...]:  # fmt: skip
    """Every account's statement for a period from (account id, entry id, date, description,
    amount) movements in date order; accounts with neither a balance nor a movement are left out."""
    by_account: dict[int, list[tuple[int, date, str, int]]] = {}
    for account_id, *movement in movements:
        by_account.setdefault(account_id, []).append(tuple(movement))  # type: ignore[arg-type]
    return tuple(
        (a, statement(opening.get(a.id, 0), by_account.get(a.id, ())))
        for a in accounts
        if opening.get(a.id, 0) or a.id in by_account
    )


# --- consolidation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Consolidation:
    """The books' balances with the inter-book ones taken out. An inter-book account is one that
    carries the party owning another book of the group (the enterprise's contributions payable
    to the welfare fund, the fund's receivable from the enterprise); each is eliminated in full,
    and what the eliminated balances do not cancel among themselves is shown on one line,
    INTER_BOOK_DIFFERENCE, so the consolidated balances still sum to zero."""

    balances: dict[int, int]
    eliminations: dict[int, int]

    @property
    def difference_satang(self) -> int:
        return -sum(self.eliminations.values())


def consolidate(
    accounts: Sequence[ReportAccount], balances: Mapping[int, int], owners: Mapping[int, int | None]
) -> Consolidation:
    """`owners`: each book of the group and the party that owns it (None for none)."""
    owner_books = {party: book for book, party in owners.items() if party is not None}
    eliminations = {
        a.id: -balances.get(a.id, 0)
        for a in accounts
        if a.party_id in owner_books and owner_books[a.party_id] != a.book_id and balances.get(a.id, 0)
    }
    result = {a.id: balances.get(a.id, 0) + eliminations.get(a.id, 0) for a in accounts}
    consolidation = Consolidation(result, eliminations)
    if consolidation.difference_satang:
        result[INTER_BOOK_DIFFERENCE.id] = consolidation.difference_satang
    assert sum(result.values()) == sum(balances.get(a.id, 0) for a in accounts)
    return consolidation


# --- year-end close ----------------------------------------------------------------------------


def closing_entries(
    accounts: Sequence[ReportAccount], balances: Mapping[int, int], surplus_account_id: int,
    max_postings: int = MAX_POSTINGS_PER_ENTRY,
) -> tuple[tuple[Posting, ...], ...]:  # fmt: skip
    """The postings of the closing entries: each income and expense account's balance at the
    year end brought to zero, the net into accumulated surplus; as many entries as the
    accounts need at `max_postings` each. Each entry balances, and together they leave the
    surplus account moved by the year's income less expenses.

    >>> accounts = [ReportAccount(1, 1, "4100", "i", "i", AccountType.income),
    ...             ReportAccount(2, 1, "5500", "x", "x", AccountType.expense)]
    >>> closing_entries(accounts, {1: -500, 2: 200}, 9)
    ((Posting(account_id=1, amount_satang=500), Posting(account_id=2, amount_satang=-200), \
Posting(account_id=9, amount_satang=-300)),)
    """
    closed = [Posting(a.id, -balances[a.id]) for a in accounts if a.type in TEMPORARY_TYPES and balances.get(a.id)]
    entries = []
    for start in range(0, len(closed), max_postings - 1):
        chunk = closed[start : start + max_postings - 1]
        net = sum(p.amount_satang for p in chunk)
        entries.append(tuple(chunk) + ((Posting(surplus_account_id, -net),) if net else ()))
    return tuple(entries)
