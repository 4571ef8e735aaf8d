"""Members' savings (สัจจะสะสมทรัพย์): an organisation's rule and what it allows.

Each organisation (savings group, cooperative, network) sets its own rule: the balance a member
must keep, whether a member with a loan in arrears may withdraw (by default not), the fixed
amount a member deposits each month, and the yearly rate paid on savings. The year's interest
(or dividend) is the rate on each member's closing balance at the end of the fiscal year,
rounded half-up once per member, and credited to the member's savings.

>>> rule = SavingsRule(minimum_satang=10_000, withdraw_in_arrears=False, monthly_deposit_satang=0,
...                    rate_percent=Decimal("3"))
>>> check_withdrawal(rule, balance_satang=50_000, amount_satang=40_000, in_arrears=False)
>>> check_withdrawal(rule, balance_satang=50_000, amount_satang=40_001, in_arrears=False)
Traceback (most recent call last):
ledger.errors.LedgerError: savings_below_minimum: a withdrawal of 400.01 would leave 99.99, below the minimum 100.00
>>> interest_satang(rule, 33_333)
1000
"""

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.calendar import parse_client_date
from ledger.errors import LedgerError, Rejection
from ledger.money import format_amount, parse_amount, to_satang

MAX_RATE_PERCENT = Decimal(100)
CSV_COLUMNS = ("member_id", "amount", "effective_date")
MAX_CSV_LINES = 10_000


@dataclass(frozen=True)
class SavingsRule:
    minimum_satang: int = 0
    withdraw_in_arrears: bool = False
    monthly_deposit_satang: int = 0
    rate_percent: Decimal = Decimal(0)


def check_rule(rule: SavingsRule) -> None:
    if rule.minimum_satang < 0 or rule.monthly_deposit_satang < 0:
        raise LedgerError(Rejection.invalid_request, "the minimum and the monthly deposit cannot be negative")
    if rule.rate_percent > MAX_RATE_PERCENT:
        raise LedgerError(Rejection.rate_out_of_range, f"the savings rate is at most {MAX_RATE_PERCENT} %")


def check_withdrawal(rule: SavingsRule, *, balance_satang: int, amount_satang: int, in_arrears: bool) -> None:
    """Refuse a withdrawal the rule forbids: while in arrears, or leaving less than the minimum."""
    if amount_satang <= 0:
        raise LedgerError(Rejection.amount_must_be_positive, "a withdrawal must be more than zero")
    if in_arrears and not rule.withdraw_in_arrears:
        raise LedgerError(Rejection.savings_withdrawal_in_arrears,
                          "the member has a loan in arrears; the organisation's rule allows no withdrawal")  # fmt: skip
    left = balance_satang - amount_satang
    if left < rule.minimum_satang:
        raise LedgerError(
            Rejection.savings_below_minimum,
            f"a withdrawal of {format_amount(amount_satang)} would leave {format_amount(left)}, "
            f"below the minimum {format_amount(rule.minimum_satang)}",
        )


def interest_satang(rule: SavingsRule, closing_balance_satang: int) -> int:
    """The year's interest on a member's closing balance: rate x balance, rounded half-up once."""
    return to_satang(Decimal(max(closing_balance_satang, 0)) * rule.rate_percent / 100)


@dataclass(frozen=True)
class DepositLine:
    number: int  # the line's number in the file, the header being line 1
    member_id: int
    amount_satang: int
    effective_date: date


def parse_deposits_csv(text: str) -> tuple[list[DepositLine], list[tuple[int, LedgerError]]]:
    """A month's deposits from CSV text under the header `member_id,amount,effective_date`: the
    lines read, and each line that could not be read with why (numbered as in the file)."""
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(name.strip() for name in rows[0]) != CSV_COLUMNS:
        raise LedgerError(Rejection.invalid_request, f"the CSV header is {','.join(CSV_COLUMNS)}")
    if len(rows) - 1 > MAX_CSV_LINES:
        raise LedgerError(Rejection.request_too_large, f"a file has at most {MAX_CSV_LINES:,} lines")
    lines, errors = [], []
    for number, row in enumerate(rows[1:], 2):
        try:
            lines.append(_deposit_line(number, row))
        except LedgerError as error:
            errors.append((number, error))
    if not lines and not errors:
        raise LedgerError(Rejection.invalid_request, "the file has no deposits")
    return lines, errors


def _deposit_line(number: int, row: list[str]) -> DepositLine:
    if len(row) != len(CSV_COLUMNS):
        raise LedgerError(Rejection.invalid_request, f"a line has {len(CSV_COLUMNS)} values, not {len(row)}")
    member, amount, day = (value.strip() for value in row)
    if not member.isascii() or not member.isdigit() or not 0 < int(member) < 2**31:
        raise LedgerError(Rejection.invalid_request, f"member_id {member[:20]!r} is not a party id")
    return DepositLine(number, int(member), parse_amount(amount), parse_client_date(day))
