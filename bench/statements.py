"""Streamed statements and general ledger at scale (issue 20):

    python -m bench.statements [--postings 1000000] [--years 3] [--db sqlite|postgres]

It writes the fund's seeded history (bench.generate), loads it fast into a new database
(bench.load), starts the real server (`codi-ledger run`, a subprocess whose resident memory,
VmRSS, a thread samples every 5 ms) and reads through one keep-alive connection:

    the statement of the busiest account over the whole history: JSON (one answer), JSON in
    pages of 10,000 lines (`limit`, `after`), CSV
    the general ledger of the book for the last fiscal year: JSON and CSV

each once after a warm-up read, for the time to the first byte of the answer, the whole time,
and the server's peak memory during it; beside them the raw driver's floor (the same lines read
by `bench.raw`, no HTTP, no formatting). Targets: the statement under 2 s, its first byte under
100 ms, the server under 200 MB throughout.
"""

import argparse
import http.client
import json
import sys
import threading
import time
from datetime import timedelta
from urllib.parse import quote

from bench import raw as rawsql
from bench.client import Server
from bench.generate import FUND_END, history_start
from bench.reports import loaded_ledger, print_lines

STATEMENT_TARGET_S = 2.0
FIRST_BYTE_TARGET_MS = 100
MEMORY_TARGET_MB = 200
PAGE = 10_000


class MemorySampler:
    """The peak VmRSS of a process, sampled in a thread between `mark` and `peak`."""

    def __init__(self, pid: int, every_s: float = 0.005) -> None:
        self.path, self.every_s, self.highest, self.running = f"/proc/{pid}/status", every_s, 0, True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def rss_mb(self) -> float:
        with open(self.path) as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def _sample(self) -> None:
        while self.running:
            self.highest = max(self.highest, self.rss_mb())
            time.sleep(self.every_s)

    def mark(self) -> None:
        self.highest = self.rss_mb()

    def stop(self) -> None:
        self.running = False
        self.thread.join()


class Reading:
    """One GET, read to its end in 64 KiB pieces: time to the first byte, whole time, size."""

    def __init__(self, connection: http.client.HTTPConnection, token: str, path: str) -> None:
        started = time.perf_counter()
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        self.first_byte_ms = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {response.read()[:300]!r}")
        self.body = bytearray()
        while piece := response.read(1 << 16):
            self.body += piece
        self.seconds = time.perf_counter() - started


def busiest_account(url: str) -> tuple[int, str, int]:
    raw = rawsql.Raw(url)
    busiest = raw.all("SELECT a.id, a.code, b.posting_count FROM account_balance b JOIN account a ON a.id = "
                      "b.account_id ORDER BY b.posting_count DESC LIMIT 1")[0]  # fmt: skip
    raw.close()
    return busiest


def raw_floor_s(url: str, account_id: int, start, end) -> float:
    raw = rawsql.Raw(url)
    started = time.perf_counter()
    rawsql.statement(raw, 0, account_id, start, end)
    seconds = time.perf_counter() - started
    raw.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--borrowers", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return print_lines(measure, args, "statements")


def measure(args, workdir: str):
    with loaded_ledger(args, workdir, "statements") as (url, fund, token, entries, postings):
        account_id, code, lines = busiest_account(url)
        start, end = history_start(args.years), FUND_END
        last_year = (FUND_END.replace(year=FUND_END.year - 1) + timedelta(days=1), FUND_END)
        statement = f"/v1/accounts/{account_id}/statement?from={start}&to={end}"
        ledger = f"/v1/reports/general-ledger?book_id={fund.book_id}&from={last_year[0]}&to={end}"
        cases = {
            f"statement of {code}, {lines:,} lines, JSON": statement,
            f"statement of {code}, JSON in pages of {PAGE:,}": f"{statement}&limit={PAGE}",
            f"statement of {code}, CSV": f"{statement}&format=csv",
            "general ledger of the book, last fiscal year, JSON": ledger,
            "general ledger of the book, last fiscal year, CSV": f"{ledger}&format=csv",
        }
        yield f"{entries:,} entries, {postings:,} postings, {args.db}\n"
        yield ("| read | first byte ms | seconds | MB sent | server peak MB (idle before) | raw driver floor s |\n"
               "|---|---|---|---|---|---|")  # fmt: skip
        server = Server(url)
        memory = MemorySampler(server.process.pid)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        try:
            for name, path in cases.items():
                Reading(connection, token, path)  # warm-up: the pages of the database in its cache
                idle = memory.rss_mb()
                memory.mark()
                reading = read_all_pages(connection, token, path) if "limit=" in path else \
                    Reading(connection, token, path)  # fmt: skip
                floor = f"{raw_floor_s(url, account_id, start, end):.2f}" if name.startswith("statement") else "–"
                sent = len(reading.body) / 2**20
                yield (f"| {name} | {reading.first_byte_ms:,.0f} | {reading.seconds:.2f} | {sent:,.0f} | "
                       f"{memory.highest:,.0f} ({idle:,.0f}) | {floor} |")  # fmt: skip
        finally:
            connection.close()
            memory.stop()
            server.stop()
    yield (f"\nTargets: the statement under {STATEMENT_TARGET_S} s, first byte under {FIRST_BYTE_TARGET_MS} ms, "
           f"the server under {MEMORY_TARGET_MB} MB.")  # fmt: skip


def read_all_pages(connection: http.client.HTTPConnection, token: str, path: str) -> Reading:
    """Every page of a paged statement, one after another: the first page's first byte, the
    whole time and every page's bytes."""
    first = reading = Reading(connection, token, path)
    started, body = time.perf_counter() - first.seconds, bytearray(first.body)
    while cursor := json.loads(reading.body)["next_cursor"]:
        reading = Reading(connection, token, f"{path}&after={quote(cursor)}")
        body += reading.body
    first.seconds, first.body = time.perf_counter() - started, body
    return first


if __name__ == "__main__":
    sys.exit(main())
