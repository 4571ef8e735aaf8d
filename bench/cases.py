"""The five benchmarks. Each measures our figure through the real server (or `store.bulk`) and
the same work through the raw driver (`bench.raw`), and returns rows of the table.

    1. posting entries with 8 concurrent clients          entries/s   target >= 25 % (SQLite), 20 %
       (PostgreSQL) of the bare FastAPI ceiling (`bench.ceiling`) measured beside it; >= 1,000
    2. bulk import, and its peak memory                   entries/s   target >= 20,000; < 300 MB
    3. current balance of one account                     p99 ms      target <= 5 ms
    4. trial balance of the book, current and as of       median ms   target <= 100 ms; <= 2 s
    5. one account's statement, early and late windows    median ms   time follows lines returned
"""

import hashlib
import json
import math
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from bench import raw as rawsql
from bench.ceiling import CeilingServer
from bench.client import Client, post_concurrently
from bench.generate import FUND_END, Fund, history_start
from ledger.calendar import fiscal_year_of
from ledger.money import format_amount

# Issue 20: posting at or above this share of the bare HTTP stack's rate (8 keep-alive clients).
CEILING_SHARE_TARGET = {"sqlite": 0.25, "postgres": 0.20}


@dataclass
class Row:
    benchmark: str
    db: str
    ours: float
    raw: float
    unit: str  # "entries/s" (more is better), "ms" or "MB" (less is better)
    target: str = ""
    met: str = ""
    ceiling: float = math.nan  # the bare FastAPI route's figure (posting), NaN elsewhere

    @property
    def cost_ratio(self) -> float:
        """How many times the raw driver's cost ours is (NaN where the raw driver did not run)."""
        if self.unit == "entries/s":
            return self.raw / self.ours if self.ours else math.inf
        return self.ours / self.raw if self.raw else math.inf


def yes_no(ok: bool) -> str:
    return "yes" if ok else "**no**"


def timed_ms(work: Callable[[], object], samples: int, warmup: int = 5) -> list[float]:
    """Sorted wall times of `samples` calls of `work` in milliseconds, after unmeasured ones."""
    for _ in range(min(warmup, samples)):
        work()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def p99(ordered: list[float]) -> float:
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


# 2. Bulk import


def bulk_import(db: str, url: str, paths: tuple[str, str], batch: int, entries: int, before: int) -> list[Row]:
    """Import one file with store.bulk and the next with the raw driver, each `entries` long,
    into the ledger that already holds `before` entries."""
    ours, raw = (run_importer(which, url, path, batch) for which, path in zip(("ours", "raw"), paths, strict=True))
    if ours["rejected"] or ours["recorded"] != entries or raw["recorded"] != entries:
        raise RuntimeError(f"import went wrong: ours {ours}, raw {raw}, expected {entries}")
    rate, peak = entries / ours["seconds"], ours["peak_rss_mb"]
    scale = "" if entries >= 1_000_000 else f" (at {entries:,} entries)"
    return [
        Row(f"2. bulk import of {entries:,} entries into a ledger of {before:,}", db, rate,
            entries / raw["seconds"], "entries/s", ">= 20,000", yes_no(rate >= 20_000)),
        Row("2. bulk import, peak RSS of the importing process", db, peak, raw["peak_rss_mb"], "MB",
            "< 300 MB at 1M entries", yes_no(peak < 300) + scale),
    ]  # fmt: skip


def large_import(db: str, url: str, path: str, batch: int, entries: int) -> list[Row]:
    """Import `entries` entries into a new ledger with store.bulk alone: the rate at scale and
    whether memory stays flat. (The raw driver's figure is benchmark 2's, on a smaller file.)"""
    ours = run_importer("ours", url, path, batch)
    if ours["rejected"] or ours["recorded"] != entries:
        raise RuntimeError(f"large import went wrong: {ours}, expected {entries}")
    rate, peak = entries / ours["seconds"], ours["peak_rss_mb"]
    return [
        Row(f"2. bulk import of {entries:,} entries into a new ledger", db, rate, math.nan, "entries/s",
            ">= 20,000", yes_no(rate >= 20_000)),
        Row(f"2. bulk import of {entries:,} entries, peak RSS of the importing process", db, peak, math.nan,
            "MB", "< 300 MB at 1M entries", yes_no(peak < 300)),
    ]  # fmt: skip


def run_importer(which: str, url: str, path: str, batch: int) -> dict:
    command = [sys.executable, "-m", "bench.importer", which, url, path, str(batch)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{which} import failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# 3. Balance of one account


def balance(db: str, client: Client, raw: rawsql.Raw, account_id: int, samples: int) -> list[Row]:
    def ours() -> None:
        status, body = client.get(f"/v1/accounts/{account_id}/balance")
        assert status == 200, body

    ours_ms = timed_ms(ours, samples)
    raw_ms = timed_ms(lambda: rawsql.balance(raw, account_id), samples)
    count = "SELECT posting_count FROM account_balance WHERE account_id = ?"
    postings = raw.all(count, (account_id,))[0][0]
    label = f"3. balance of cash ({postings:,} postings), p99 of {samples}; median {statistics.median(ours_ms):.1f} ms"
    return [Row(label, db, p99(ours_ms), p99(raw_ms), "ms", "p99 <= 5 ms", yes_no(p99(ours_ms) <= 5))]


# 4. Trial balance


def past_dates(years: int, count: int) -> list[date]:
    """Dates spread over the history, each in the middle of a month."""
    start = history_start(years)
    span = (FUND_END - start).days
    return [(start + timedelta(days=span * (k + 1) // (count + 1))).replace(day=15)
            for k in range(count)]  # fmt: skip


def trial_balance(db: str, client: Client, raw: rawsql.Raw, fund: Fund, samples: int,
                  years: int) -> list[Row]:  # fmt: skip
    path = f"/v1/books/{fund.book_id}/trial-balance"
    first = client.get_json(path)
    assert first["total_debit"] == first["total_credit"], first
    now = timed_ms(lambda: client.get_json(path), samples)
    raw_now = timed_ms(lambda: rawsql.trial_balance(raw, fund.book_id, None), samples)
    past, raw_past = [], []
    for day in past_dates(years, samples):
        past += timed_ms(lambda d=day: client.get_json(f"{path}?as_of={d}"), 1, warmup=0)
        raw_past += timed_ms(lambda d=day: rawsql.trial_balance(raw, fund.book_id, d), 1, 0)
    median_now, median_past = statistics.median(now), statistics.median(past)
    return [
        Row(f"4. trial balance, current (median of {samples}; max {max(now):.0f} ms)", db,
            median_now, statistics.median(raw_now), "ms", "<= 100 ms", yes_no(median_now <= 100)),
        Row(f"4. trial balance as of a past date (median of {samples}; max {max(past):.0f} ms)",
            db, median_past, statistics.median(raw_past), "ms", "<= 2 s",
            yes_no(median_past <= 2000)),
    ]  # fmt: skip


# 5. Statements


def statement_windows(years: int) -> list[tuple[str, date, date]]:
    """(account code, from, to): a borrower's first and last fiscal years of the history, and
    the first and last Septembers of cash, the busiest account."""
    first_year = (history_start(years), history_start(years - 1) - timedelta(days=1))
    last_year = (history_start(1), FUND_END)
    first_september = (first_year[1].replace(day=1), first_year[1])
    last_september = (FUND_END.replace(day=1), FUND_END)
    return [("1200-001", *first_year), ("1200-001", *last_year),
            ("1100", *first_september), ("1100", *last_september)]  # fmt: skip


def statements(db: str, client: Client, raw: rawsql.Raw, fund: Fund, repeats: int,
               years: int) -> list[Row]:  # fmt: skip
    rows, early_ms_per_line = [], {}
    for code, start, end in statement_windows(years):
        account_id = fund.accounts[code]
        path = f"/v1/accounts/{account_id}/statement?from={start}&to={end}"
        lines = len(client.get_json(path)["lines"])
        assert len(rawsql.statement(raw, fund.book_id, account_id, start, end)[1]) == lines

        def raw_work(a=account_id, s=start, e=end):
            return rawsql.statement(raw, fund.book_id, a, s, e)

        ours = statistics.median(timed_ms(lambda p=path: client.get_json(p), repeats, 1))
        theirs = statistics.median(timed_ms(raw_work, repeats, 1))
        before = (start - history_start(years)).days / 365
        window = f"FY{fiscal_year_of(start)}" if (end - start).days > 40 else f"{start:%b %Y}"
        row = Row(f"5. statement {code}, {window} ({before:.0f} y of history before), "
                  f"{lines:,} lines", db, ours, theirs, "ms")  # fmt: skip
        ms_per_line = ours / max(lines, 1)
        if code in early_ms_per_line:  # the later window: does a line cost more after more history?
            row.target = "time follows lines, not history"
            row.met = yes_no(ms_per_line <= 1.5 * early_ms_per_line[code])
        early_ms_per_line[code] = ms_per_line
        rows.append(row)
    return rows


# 1. Posting through the server


def repayment(fund: Fund, borrower: str, number: int) -> dict:
    """A small repayment of a borrower's loan, dated on the last day of the history."""
    principal, interest = 100_00, 10_00 + number % 100
    postings = [(fund.accounts["1100"], principal + interest), (fund.accounts[borrower], -principal),
                (fund.accounts["4100"], -interest)]  # fmt: skip
    return {
        "book_id": fund.book_id, "effective_date": FUND_END.isoformat(), "kind": "manual",
        "description": f"Repayment from {borrower}", "dimensions": {"programme": "livelihood"},
        "postings": [{"account_id": a, "amount": format_amount(s)} for a, s in postings],
    }  # fmt: skip


def hammer(workers: list[Callable[[int], bool]], seconds: float, errors: list) -> tuple[int, int, float]:
    """Run each worker in its own thread, step after step, for `seconds`; returns the steps
    that succeeded, those that failed (an exception is kept in `errors`), and the time taken."""
    done, failed = [0] * len(workers), [0] * len(workers)
    start = threading.Barrier(len(workers) + 1)
    deadline = time.perf_counter() + 3600

    def loop(index: int) -> None:
        start.wait()
        number = 0
        while time.perf_counter() < deadline:
            number += 1
            try:
                ok = workers[index](number)
            except Exception as error:  # noqa: BLE001 - counted and shown, not lost with its thread
                errors.append(repr(error).encode())
                ok = False
            done[index] += ok
            failed[index] += not ok

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    return sum(done), sum(failed), time.perf_counter() - began


def posting(db: str, port: int, token: str, fund: Fund, url: str, user_id: int, *,
            clients: int, seconds: float) -> list[Row]:  # fmt: skip
    """Our server takes repayments from `clients` keep-alive connections (`post_concurrently`);
    then the raw driver writes the same entries from as many threads, each with its own
    connection."""
    borrowers = largest_loans(url, fund, clients)
    errors: list[bytes] = []

    def ours(index: int, number: int) -> tuple[str, bytes, str]:
        body = repayment(fund, borrowers[index], number)
        return "/v1/entries", json.dumps(body).encode(), f"bench-{index}-{number}"

    def raw(index: int) -> Callable[[int], bool]:
        connection = rawsql.Raw(url)

        def step(number: int) -> bool:
            body = repayment(fund, borrowers[index], number)
            entry = rawsql.RawEntry(fund.book_id, body["effective_date"], "manual",
                                    body["description"], json.dumps(body["dimensions"]),
                                    tuple((p["account_id"], rawsql.satang(p["amount"]))
                                          for p in body["postings"]))  # fmt: skip
            key = (f"raw-{index}-{number}", hashlib.sha256(json.dumps(body).encode()).hexdigest())
            with connection.write():
                rawsql.record(connection, [entry], [key], user_id=user_id, action="entry.post")
            return True

        return step

    answered = post_concurrently(port, token, ours, clients=clients, seconds=seconds)
    posted, failed, took = answered.succeeded, answered.failed, answered.seconds
    errors += answered.errors
    raw_posted, raw_failed, raw_took = hammer([raw(i) for i in range(clients)], seconds, errors)
    bare = CeilingServer()
    try:
        ceiling = post_concurrently(bare.port, token, ours, clients=clients, seconds=seconds)
    finally:
        bare.stop()
    if failed or raw_failed or ceiling.failed:
        print(f"  {failed} + {raw_failed} raw + {ceiling.failed} ceiling posts failed, the first: {errors[0][:300]!r}",
              file=sys.stderr)  # fmt: skip
    rate, share = posted / took, CEILING_SHARE_TARGET[db]
    ceiling_rate = ceiling.succeeded / ceiling.seconds
    return [Row(f"1. post entries, {clients} clients for {seconds:.0f} s ({posted:,} posted, "
                f"{failed} failed)", db, rate, raw_posted / raw_took, "entries/s",
                f">= {share:.0%} of the ceiling (and >= 1,000)", yes_no(rate >= share * ceiling_rate),
                ceiling_rate)]  # fmt: skip


def largest_loans(url: str, fund: Fund, count: int) -> list[str]:
    """The codes of the `count` borrowers owing most (so small repayments never overpay)."""
    raw = rawsql.Raw(url)
    by_id = {fund.accounts[code]: code for code in fund.borrowers}
    query = "SELECT account_id FROM account_balance WHERE account_id IN ({}) ORDER BY balance_satang DESC"
    rows = raw.all(query.format(rawsql.placeholders(len(by_id))), list(by_id))
    raw.close()
    return [by_id[account_id] for (account_id,) in rows[:count]]
