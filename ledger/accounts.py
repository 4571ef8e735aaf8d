"""Accounts, entries and postings: the double-entry rules.

An account lives in one book and has a type. Its balance is the sum of its postings, signed:
a debit is positive, a credit negative. Assets and expenses normally carry debit (positive)
balances; liabilities, equity and income carry credit (negative) ones. Because every entry's
postings sum to zero (invariant 1), every book's balances sum to zero (invariant 4):
assets + expenses = liabilities + equity + income.

A balance rule keeps an account on its side: cash at bank may not go into credit, a loan
receivable may not become a credit balance, a payable may not become a debit one (invariant 6).

Entries are never changed; a mistake is undone by a reversal whose postings negate the
original's, so every balance it touched is restored (invariant 7).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ledger.errors import LedgerError, Rejection
from ledger.money import check_amount_limit, format_amount

MAX_POSTINGS_PER_ENTRY = 200


class AccountType(StrEnum):
    asset = "asset"
    liability = "liability"
    equity = "equity"
    income = "income"
    expense = "expense"

    @property
    def normal_sign(self) -> int:
        """+1 for debit-normal types, -1 for credit-normal ones."""
        return 1 if self in (AccountType.asset, AccountType.expense) else -1


class BalanceRule(StrEnum):
    none = "none"
    debit_or_zero = "debit_or_zero"  # never a credit balance: cash, receivables
    credit_or_zero = "credit_or_zero"  # never a debit balance: payables, capital

    def allows(self, balance_satang: int) -> bool:
        if self is BalanceRule.debit_or_zero:
            return balance_satang >= 0
        if self is BalanceRule.credit_or_zero:
            return balance_satang <= 0
        return True


@dataclass(frozen=True)
class Posting:
    account_id: int
    amount_satang: int  # positive debit, negative credit


@dataclass(frozen=True)
class EntryDraft:
    """An entry as asked for, before the journal accepts it and gives it an id."""

    book_id: int
    effective_date: date
    kind: str
    description: str
    postings: tuple[Posting, ...]
    dimensions: dict[str, str] = field(default_factory=dict)
    reverses_entry_id: int | None = None


def validate_postings(postings: Sequence[Posting]) -> None:
    """Refuse an entry that is not a proper double entry (invariant 1)."""
    if len(postings) < 2:
        raise LedgerError(Rejection.too_few_postings, "an entry needs at least two postings")
    if len(postings) > MAX_POSTINGS_PER_ENTRY:
        raise LedgerError(
            Rejection.too_many_postings,
            f"an entry has at most {MAX_POSTINGS_PER_ENTRY} postings",
        )
    for posting in postings:
        if posting.amount_satang == 0:
            raise LedgerError(Rejection.amount_must_not_be_zero, "a posting's amount is zero")
        check_amount_limit(posting.amount_satang)
    total = sum(p.amount_satang for p in postings)
    if total != 0:
        raise LedgerError(
            Rejection.unbalanced_entry,
            f"postings sum to {format_amount(total)}; debits must equal credits",
        )


def movements(postings: Sequence[Posting]) -> dict[int, int]:
    """Net amount per account, in ascending account order (the order balances are locked in)."""
    net: dict[int, int] = {}
    for posting in postings:
        net[posting.account_id] = net.get(posting.account_id, 0) + posting.amount_satang
    return dict(sorted(net.items()))


def check_balance_rules(
    balances: Mapping[int, int],
    rules: Mapping[int, BalanceRule],
    postings: Sequence[Posting],
) -> None:
    """Refuse postings that would push any account past its balance rule (invariant 6).

    An account already outside its rule (it cannot happen through us, but a rule may be
    tightened later) is refused only if the entry moves it further out.
    """
    for account_id, movement in movements(postings).items():
        before = balances[account_id]
        after = before + movement
        rule = rules[account_id]
        moves_further_out = rule.allows(before) or abs(after) > abs(before)
        if not rule.allows(after) and moves_further_out:
            raise LedgerError(
                Rejection.insufficient_balance,
                f"account {account_id} would have balance {format_amount(after)}, which its rule {rule} does not allow",
            )


def reversal_of(postings: Sequence[Posting]) -> list[Posting]:
    """The postings of the entry that undoes `postings`."""
    return [Posting(p.account_id, -p.amount_satang) for p in postings]
