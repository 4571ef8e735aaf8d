"""Reports computed from balances and postings that the caller supplies.

A trial balance lists each account's balance in a debit or a credit column; because every entry
balances, the columns are equal (invariant 4). Control accounts show their own postings plus
everything below them (`rolled_up`). An account statement starts from the opening balance and
carries a running balance through each line to the closing balance.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class TrialBalanceLine:
    account_id: int
    balance_satang: int

    @property
    def debit_satang(self) -> int:
        return max(self.balance_satang, 0)

    @property
    def credit_satang(self) -> int:
        return max(-self.balance_satang, 0)


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


@dataclass(frozen=True)
class StatementLine:
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


def statement(opening_balance_satang: int, movements: Iterable[tuple[int, date, str, int]]) -> Statement:
    """Running balances over (entry id, date, description, amount) in the order given."""
    running = opening_balance_satang
    lines: list[StatementLine] = []
    for entry_id, day, description, amount in movements:
        running += amount
        lines.append(StatementLine(entry_id, day, description, amount, running))
    return Statement(opening_balance_satang, tuple(lines), running)
