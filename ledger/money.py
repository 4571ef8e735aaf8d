"""Money: integer satang, exact parsing and formatting, rounding and fair splitting.

1 baht = 100 satang, and every amount in codi-ledger is an `int` of satang. Decimal strings
("1500.00") are the only way amounts enter or leave, through `parse_amount` and `format_amount`.
Rates and interest are `Decimal`; they become satang at one documented point, `to_satang`.

`allocate` splits an amount among weights by the largest-remainder method: the parts are
non-negative and always sum exactly to the whole.

>>> parse_amount("1500.5")
150050
>>> format_amount(-7)
'-0.07'
>>> people_amount(-150_000)
'(1,500.00)'
>>> allocate(100, [1, 1, 1])
[34, 33, 33]
"""

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from ledger.errors import LedgerError, Rejection

SATANG_PER_BAHT = 100
MAX_AMOUNT_SATANG = 10**14 - 1  # a posting: 999,999,999,999.99 baht, far beyond the fund, far inside BIGINT
# An account's balance, its movement in one month and an entry's debits: 9,999,999,999,999.99 baht,
# ten times the largest posting and about a nine-thousandth of BIGINT (2**63 - 1 satang), so that the
# months of ledger.calendar's window (3,600) summed for a balance as of a date stay inside it too.
MAX_BALANCE_SATANG = 10**15 - 1
_AMOUNT = re.compile(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,2})?")
# ASCII digits only: Decimal() would also read "3_5" as 35, padded spaces and non-ASCII digits.
_RATE = re.compile(r"[0-9]{1,4}(\.[0-9]{1,12})?")
_SATANG_TEXT = tuple(f"{n:02d}" for n in range(SATANG_PER_BAHT))  # "00" to "99"
ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


def parse_amount(text: str) -> int:
    """Parse a decimal string of baht with at most two places into satang, exactly."""
    if not isinstance(text, str) or not _AMOUNT.fullmatch(text):
        raise LedgerError(
            Rejection.malformed_amount,
            f"amount {text!r} must be a decimal string with at most two places, like '1500.00'",
        )
    negative = text.startswith("-")
    baht, _, fraction = text.lstrip("-").partition(".")
    satang = int(baht) * SATANG_PER_BAHT + int(fraction.ljust(2, "0") or "0")
    check_amount_limit(satang)
    return -satang if negative else satang


def check_amount_limit(satang: int) -> None:
    if abs(satang) > MAX_AMOUNT_SATANG:
        raise LedgerError(
            Rejection.amount_too_large,
            f"amount exceeds the maximum of {format_amount(MAX_AMOUNT_SATANG)}",
        )


def check_balance_limit(satang: int, what: str) -> None:
    """Refuse an account's balance or month's movement (`what`) past MAX_BALANCE_SATANG."""
    if abs(satang) > MAX_BALANCE_SATANG:
        raise LedgerError(
            Rejection.balance_out_of_range,
            f"{what} would be {format_amount(satang)}, beyond the bound of {format_amount(MAX_BALANCE_SATANG)}",
        )


def format_amount(satang: int, *, grouped: bool = False) -> str:
    """Format satang as a decimal string of baht with exactly two places; `grouped` puts a
    thousands separator in, for people to read (`format_amount(123456789, grouped=True)` is
    '1,234,567.89'), never for machines to parse."""
    if grouped:
        baht, rest = divmod(abs(satang), SATANG_PER_BAHT)
        return f"{'-' if satang < 0 else ''}{baht:,}.{_SATANG_TEXT[rest]}"
    # A streamed statement formats two amounts a line: the plainest integer path, no format spec.
    if satang < 0:
        baht, rest = divmod(-satang, SATANG_PER_BAHT)
        return f"-{baht}.{_SATANG_TEXT[rest]}"
    baht, rest = divmod(satang, SATANG_PER_BAHT)
    return f"{baht}.{_SATANG_TEXT[rest]}"


def people_amount(satang: int) -> str:
    """An amount as a statement for people shows it: grouped, and a negative one in parentheses
    as accountants write it, "(1,500.00)", where a minus sign is easily missed on paper."""
    grouped = format_amount(abs(satang), grouped=True)
    return f"({grouped})" if satang < 0 else grouped


def parse_rate(text: str) -> Decimal:
    """Parse a percentage rate ("3.5" is 3.5 %) as an exact, finite, non-negative Decimal."""
    rate = Decimal(text) if isinstance(text, str) and _RATE.fullmatch(text) else None
    if rate is None or rate > 1000:
        raise LedgerError(Rejection.malformed_rate, f"rate {text!r} must be a percentage like '3.5'")
    return rate


def to_satang(value: Decimal, mode: str = "half_up") -> int:
    """Round a Decimal amount of satang to a whole satang: the one rounding point for money."""
    return int(value.quantize(Decimal(1), rounding=ROUNDING_MODES[mode]))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` satang in proportion to `weights` by the largest-remainder method.

    Each part is floor(total * weight / sum); the satang left over go one each to the parts with
    the largest remainders, ties broken by position (earlier first), so the result is
    deterministic. Parts are non-negative and sum exactly to `total`.
    """
    assert total >= 0 and weights and all(w >= 0 for w in weights) and sum(weights) > 0
    weight_sum = sum(weights)
    quotients = [divmod(total * w, weight_sum) for w in weights]
    parts = [q for q, _ in quotients]
    leftover = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-quotients[i][1], i))
    for index in by_remainder[:leftover]:
        parts[index] += 1
    assert sum(parts) == total
    return parts
