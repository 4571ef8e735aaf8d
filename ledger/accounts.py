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

Some entries and accounts belong to a business operation. An entry written by one (its kind
names it: `welfare.sale`, `loan.repayment`, ...) is undone only through that operation, which
also changes its own records; a hand-made entry (`JOURNAL_KINDS`) is reversed directly. A
sub-account that an operation opens for a party (`2200-F<fund>`, `1200-E<enterprise>`,
`1200-L<loan>`, ...) mirrors that operation's records, so no hand-made entry may move it, as
GL accounts that do not allow manual entries.

>>> owning_operation("1200-E7")
'welfare contributions (POST /v1/sales, /v1/settlements, /v1/advance-refunds)'
>>> owning_operation("1200") is None and owning_operation("1200-01") is None
True
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ledger.errors import LedgerError, Rejection
from ledger.money import MAX_BALANCE_SATANG, check_amount_limit, check_balance_limit, format_amount

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


@dataclass(frozen=True)
class DisplayedBalance:
    """A balance as a reader sees it: the figure on the account's normal side, never signed.

    An asset with a debit balance of 1,500.00 and an income account with a credit balance of
    1,500.00 both show 1,500.00; a balance on the side its type does not normally carry (cash in
    credit) shows its figure marked `unusual` (in parentheses on a page).

    >>> displayed_balance(-150000, AccountType.income), displayed_balance(-150000, AccountType.asset)
    (DisplayedBalance(figure_satang=150000, unusual=False), DisplayedBalance(figure_satang=150000, unusual=True))
    """

    figure_satang: int
    unusual: bool

    def signed_balance(self, account_type: AccountType) -> int:
        """The balance it shows, signed as stored (debit positive): the display read back."""
        return (-1 if self.unusual else 1) * account_type.normal_sign * self.figure_satang


def displayed_balance(balance_satang: int, account_type: AccountType) -> DisplayedBalance:
    on_normal_side = balance_satang * account_type.normal_sign
    return DisplayedBalance(abs(on_normal_side), on_normal_side < 0)


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
    debits = sum(p.amount_satang for p in postings if p.amount_satang > 0)
    if debits > MAX_BALANCE_SATANG:
        raise LedgerError(
            Rejection.amount_too_large,
            f"the entry's debits total {format_amount(debits)}, "
            f"beyond the maximum of {format_amount(MAX_BALANCE_SATANG)}",
        )
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


def check_balance_bounds(
    balances: Mapping[int, int], month_movements: Mapping[int, int], postings: Sequence[Posting]
) -> None:
    """Refuse postings that would carry an account's balance, or its movement in the entry's month
    (what a balance as of a date is summed from), past `MAX_BALANCE_SATANG` (balance_out_of_range):
    the database stores both as BIGINT and refuses them beyond the bound too (migration 0014)."""
    for account_id, movement in movements(postings).items():
        month_movement = month_movements.get(account_id, 0) + movement
        check_balance_limit(balances[account_id] + movement, f"account {account_id}'s balance")
        check_balance_limit(month_movement, f"account {account_id}'s movement in the entry's month")


def reversal_of(postings: Sequence[Posting]) -> list[Posting]:
    """The postings of the entry that undoes `postings`."""
    return [Posting(p.account_id, -p.amount_satang) for p in postings]


# The kinds of entry made by hand (POST /v1/entries, the bulk import); every other kind is written
# by a business operation, and a reversal (kind `reversal`) is never reversed itself.
JOURNAL_KINDS = frozenset({"manual", "opening", "adjustment", "import"})

# How an operation's entry is undone, by its kind: the first prefix that matches.
_UNDONE_THROUGH = (
    ("welfare.sale", "the sale's reversal, POST /v1/sales/{sale_id}/reversal"),
    ("welfare.settlement", "the settlement's reversal, POST /v1/settlements/{settlement_id}/reversal"),
    ("welfare.", "the welfare routes that wrote it (a sale's or a settlement's reversal)"),
    ("codi.", "CODI's loan routes (/v1/loans/{loan_id}), whose entry this one mirrors, or a remittance"),
    ("loan.repayment", "the repayment's reversal, POST /v1/loans/{loan_id}/repayments/{transaction_id}/reversal"),
    ("loan.", "the loan's own routes, under /v1/loans/{loan_id}"),
    ("investment.impairment", "POST /v1/investments/{investment_id}/impairment-reversals"),
    ("investment.", "the investment's own routes, under /v1/investments/{investment_id}"),
    ("equity.", "the enterprise's share register, POST /v1/enterprises/{party_id}/register"),
    ("distribution.", "the enterprise's distributions, under /v1/enterprises/{party_id}/distributions"),
    ("year_end.close", "the close's reversal, POST /v1/books/{book_id}/year-end-closes/{fiscal_year}/reversal"),
)


def check_reversible_by_hand(*, entry_id: int, kind: str) -> None:
    """Refuse to reverse, by itself, an entry that a business operation wrote: the operation's
    own records (a sale still live, a loan's outstanding) would no longer match its entries.

    >>> check_reversible_by_hand(entry_id=1, kind="manual")
    >>> check_reversible_by_hand(entry_id=2, kind="welfare.sale")
    Traceback (most recent call last):
    ...
    ledger.errors.LedgerError: entry_owned_by_operation: entry 2 was written by an operation \
(welfare.sale) and is undone only through it: the sale's reversal, POST /v1/sales/{sale_id}/reversal
    """
    if kind in JOURNAL_KINDS:
        return
    through = next((route for prefix, route in _UNDONE_THROUGH if kind.startswith(prefix)), "the operation itself")
    raise LedgerError(
        Rejection.entry_owned_by_operation,
        f"entry {entry_id} was written by an operation ({kind}) and is undone only through it: {through}",
    )


# Sub-accounts that operations open, by the tag after their control account's code: a party's
# (`<control>-<tag><id>`: a welfare pair's, a loan's, an investee's or holder's) or a welfare
# fund's matching receivable of a source (`1300-<source>`).
_SUB_ACCOUNT = re.compile(r"[0-9]+-(?:(?P<tag>[EFWLP])[0-9]+|(?P<source>LA|GOV|DONOR))")
_KEPT_BY = {
    "E": "welfare contributions (POST /v1/sales, /v1/settlements, /v1/advance-refunds)",
    "F": "welfare contributions (POST /v1/sales, /v1/settlements, /v1/advance-refunds)",
    "W": "matching contributions paid through CODI (POST /v1/welfare-funds/{party_id}/matching-contributions)",
    "L": "the loan's own routes (under /v1/loans/{loan_id})",
    "P": "co-investment (investments and distributions)",
    "source": "matching contributions (POST /v1/welfare-funds/{party_id}/matching-contributions)",
}


def owning_operation(code: str) -> str | None:
    """The operation that keeps the account of this code, or None for an account of the chart or
    one opened by hand. Such codes are the operations' own: they open and find them by code."""
    match = _SUB_ACCOUNT.fullmatch(code)
    if match is None:
        return None
    return _KEPT_BY[match["tag"] or "source"]


def check_postable_by_hand(codes: Mapping[int, str]) -> None:
    """Refuse a hand-made entry that moves an account an operation keeps (`codes`: account id to
    code, of the accounts the entry moves): its balance must stay what the operation's records say
    (a pair's payable equal to the fund's receivable, a loan's outstanding to its sub-account)."""
    for account_id, code in sorted(codes.items()):
        if (operation := owning_operation(code)) is not None:
            raise LedgerError(
                Rejection.account_owned_by_operation,
                f"account {account_id} ({code}) is kept by {operation}; an entry made by hand may not post to it",
            )
