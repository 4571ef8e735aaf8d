"""Loan schedules per second, ours (`ledger.loans.schedule`) against a naive Decimal loop:

    python -m bench.schedules [--count 20000] [--seed 2567] [--repeats 3]

The target is >= 5,000 schedules of 180 monthly instalments a second in one Python process, kept
as a portfolio report keeps them. Loans are seeded: amounts from 100,000 to 3,000,000 baht, rates
among the fund's products (3.5-6.5 %), disbursement dates over five fiscal years, as a housing
portfolio would have them.

Each pass keeps every schedule it makes until the pass ends, so the garbage collector walks
whatever of them it tracks, as it does under a report; the same passes dropping each schedule
at once, and keeping them with the collector off (the ceiling: what the collector costs), are
reported beside it. Ours slices each due date from one list of dates per day of the month and
computes each instalment in exact integers; the naive reference adds a relativedelta and divides
a Decimal for every instalment, and keeps its rows too. Both give identical instalments, which
the run checks before timing. Figures are the best of `--repeats` runs (the machine is shared),
and the first kept run of ours, with the date lists cold, is reported too. Never asserted in
tests.
"""

import argparse
import gc
import random
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from ledger import loans
from ledger.loans import Amortization, FrequencyUnit, InterestBasis, LoanTerms, level_instalment, schedule
from ledger.money import to_satang

RATES = ("3.5", "4", "4.25", "4.5", "5", "5.75", "6", "6.5")
FIRST_DAY = date(2021, 10, 1)  # FY2565 to FY2569
DISBURSEMENT_DAYS = 1826  # five years of start dates
TARGET = 5_000
Loan = tuple[int, LoanTerms, date]


def portfolio(count: int, seed: int, **shape) -> list[Loan]:
    """`count` seeded loans of 180 monthly instalments (or another `shape` of the terms)."""
    rng = random.Random(seed)
    products = [LoanTerms(rate_annual_percent=Decimal(rate), term_instalments=180, **shape) for rate in RATES]

    def loan() -> Loan:
        amount, terms = rng.randrange(10_000_000, 300_000_001), rng.choice(products)
        return amount, terms, FIRST_DAY + timedelta(days=rng.randrange(DISBURSEMENT_DAYS))

    return [loan() for _ in range(count)]


def naive_schedule(amount: int, terms: LoanTerms, disbursed_on: date) -> list[tuple]:
    """The straightforward loop, monthly equal instalments on a declining balance: one
    relativedelta and one Decimal division per instalment."""
    n, rate = terms.term_instalments, terms.rate_annual_percent
    level = level_instalment(amount, terms, periods=n)
    balance, rows = amount, []
    for k in range(1, n + 1):
        interest = to_satang(Decimal(balance) * rate / 1200)
        principal = balance if k == n else min(max(level - interest, 0), balance)
        balance -= principal
        due_on = disbursed_on + relativedelta(months=k)
        rows.append((k, due_on, principal, interest, principal + interest, balance, interest))
    return rows


def ours(amount: int, terms: LoanTerms, disbursed_on: date) -> loans.Schedule:
    return schedule(amount, terms, disbursed_on)


def per_second(make: Callable[[int, LoanTerms, date], object], book: list[Loan], keep: bool = True) -> float:
    """One pass over the book, keeping what it makes until the pass ends (or dropping each)."""
    kept = []
    remember = kept.append if keep else lambda _: None
    started = time.perf_counter()
    for amount, terms, disbursed_on in book:
        remember(make(amount, terms, disbursed_on))
    elapsed = time.perf_counter() - started
    del kept[:]  # freed outside the timing, before the next pass
    return len(book) / elapsed


def collector_off(make: Callable[[int, LoanTerms, date], object], book: list[Loan]) -> float:
    gc.disable()
    try:
        return per_second(make, book)
    finally:
        gc.enable()


def clear_caches() -> None:
    for cached in vars(loans).values():
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()


def check_same(book: list[Loan]) -> None:
    for amount, terms, disbursed_on in book[:500]:
        rows = [tuple(i) for i in ours(amount, terms, disbursed_on).instalments]
        assert rows == naive_schedule(amount, terms, disbursed_on)


def measure(name: str, book: list[Loan], repeats: int, naive: bool) -> dict:
    clear_caches()
    cold = per_second(ours, book)
    kept = max(per_second(ours, book) for _ in range(repeats))
    dropped = max(per_second(ours, book, keep=False) for _ in range(repeats))
    ceiling = max(collector_off(ours, book) for _ in range(repeats))
    reference = max(per_second(naive_schedule, book) for _ in range(repeats)) if naive else None
    return {"case": name, "loans": len(book), "cold": cold, "ours": kept, "dropped": dropped,
            "collector_off": ceiling, "naive": reference}  # fmt: skip


CASES = (  # (name, shape of the terms, whether the naive loop computes the same thing)
    ("180 monthly, equal instalments", {}, True),
    ("180 monthly, equal principal", {"amortization": Amortization.equal_principal}, False),
    ("180 monthly, daily interest", {"interest_basis": InterestBasis.daily}, False),
    ("180 weekly, equal instalments", {"repayment_unit": FrequencyUnit.weeks}, False),
)


def run(count: int = 20_000, seed: int = 2567, repeats: int = 3) -> list[dict]:
    """Schedules per second for each case: our first (cold-cache) pass, our best pass, and the
    naive reference's best pass where it computes the same thing."""
    rows = []
    for name, shape, naive in CASES:
        book = portfolio(count, seed, **shape)
        if naive:
            check_same(book)
        rows.append(measure(name, book, repeats, naive))
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| case | loans | ours, kept, first pass | ours, kept | ours, dropped | ceiling: kept, collector off "
             "| naive Decimal + relativedelta, kept | ratio |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for row in rows:
        naive = f"{row['naive']:,.0f}/s" if row["naive"] else "-"
        ratio = f"{row['ours'] / row['naive']:.1f}x" if row["naive"] else "-"
        lines.append(f"| {row['case']} | {row['loans']:,} | {row['cold']:,.0f}/s | {row['ours']:,.0f}/s "
                     f"| {row['dropped']:,.0f}/s | {row['collector_off']:,.0f}/s | {naive} | {ratio} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="loans per case")
    parser.add_argument("--seed", type=int, default=2567)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best is reported")
    args = parser.parse_args()
    rows = run(args.count, args.seed, args.repeats)
    print(table(rows))
    target = rows[0]["ours"]
    print(f"\ntarget >= {TARGET:,} schedules/s of 180 monthly instalments, kept: "
          f"{target:,.0f}/s, {'met' if target >= TARGET else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
