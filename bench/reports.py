"""Reports and exports at scale (issue 6):

    python -m bench.reports [--postings 1000000] [--years 3] [--db sqlite|postgres]

It writes the fund's seeded history (bench.generate), loads it fast into a new database
(bench.load), starts the real server and measures, for past dates:

    trial balance, statement of financial position, income statement   median ms, target <= 1 s

then compares the trial balance with the same balances computed by two tools we did not write,
on the same data: `hledger balance` (Debian package hledger) on a journal converted from our
Beancount export, and Beancount's own (load, booking, checks, then realization), as ratios;
and streams the two exports (CSV journal, Beancount ledger) of the whole book, each in a child
process of its own, for time and peak memory (VmHWM), target <= 200 MB.

    python -m bench.reports --export-child beancount|csv DATABASE_URL BOOK_ID OUTPUT

is that child: it prints one JSON object (seconds, peak RSS in MB).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta

from bench import load
from bench.client import Client, Server
from bench.generate import FUND_END, write_entries
from bench.importer import peak_rss_mb
from bench.run import fresh_database, prepare, say
from ledger.calendar import fiscal_year_of

RUNS = 3
REPORT_TARGET_MS = 1_000
EXPORT_TARGET_MB = 200


def export_child(format_: str, url: str, book_id: int, output: str) -> dict:
    """Stream one export of the book to `output`; what `codi-ledger export` and the API run."""
    from api.formats import csv_blocks
    from store.engine import Database
    from store.exports import JOURNAL_CSV_HEADER, beancount_export, journal_csv_rows

    db = Database(url)
    started = time.perf_counter()
    if format_ == "csv":
        blocks = csv_blocks(JOURNAL_CSV_HEADER, journal_csv_rows(db, book_id))
    else:
        blocks = beancount_export(db, book_id)
    with open(output, "w", encoding="utf-8", newline="") as out:
        out.writelines(blocks)
    seconds = time.perf_counter() - started
    db.dispose()
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "bytes": os.path.getsize(output)}


def run_export(format_: str, url: str, book_id: int, output: str) -> dict:
    command = [sys.executable, "-m", "bench.reports", "--export-child", format_, url, str(book_id), output]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def median_ms(client: Client, path: str) -> float:
    """The median of RUNS requests (the first also warms the caches of a cold date)."""
    return statistics.median(timed(lambda: client.get_json(path))[0] for _ in range(RUNS))


def report_paths(book_id: int, years: int) -> dict[str, list[str]]:
    """Each report at past dates: the end of each fiscal year, and the middle of the last one."""
    ends = [FUND_END.replace(year=FUND_END.year - back) for back in range(years)]
    days = sorted([*ends, date(FUND_END.year, 3, 31)])
    fiscal_years = sorted(fiscal_year_of(end) for end in ends)
    query = f"book_id={book_id}"
    return {
        "trial balance": [f"/v1/reports/trial-balance?{query}&as_of={d}" for d in days],
        "financial position": [f"/v1/reports/financial-position?{query}&as_of={d}" for d in days],
        "income statement": [f"/v1/reports/income-statement?{query}&fiscal_year={y}" for y in fiscal_years],
    }


def hledger_journal(beancount_path: str, output: str) -> None:
    """Our Beancount ledger as an hledger journal: the transactions' dates, descriptions and
    postings only (hledger reads neither Beancount's options, directives nor metadata)."""
    with open(beancount_path, encoding="utf-8") as source, open(output, "w", encoding="utf-8") as out:
        for line in source:
            if line[:1].isdigit() and " * " in line:
                day, _, rest = line.partition(" * ")
                out.write(f"{day} * {rest.split(' ^')[0].strip().strip(chr(34))}\n")
            elif line.startswith("  ") and ":" in line.split()[0][:-1]:  # a posting, not "  key: value"
                out.write(line)
            elif not line.strip():
                out.write("\n")


def hledger_ms(journal: str, day: date) -> float:
    command = ["hledger", "-f", journal, "balance", "-e", (day + timedelta(days=1)).isoformat(), "-N"]
    return timed(lambda: subprocess.run(command, check=True, capture_output=True))[0]


def beancount_ms(ledger: str, day: date) -> float:
    """Beancount's own balances: load (parse, book, check), then realize up to the date."""
    from beancount import loader
    from beancount.core import realization

    def balances():
        entries, errors, _ = loader.load_file(ledger)
        assert not errors, errors[:3]
        return realization.realize([e for e in entries if e.date <= day])

    return timed(balances)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--borrowers", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--export-child", nargs=4, metavar=("FORMAT", "URL", "BOOK_ID", "OUTPUT"))
    args = parser.parse_args(argv)
    if args.export_child:
        format_, url, book_id, output = args.export_child
        print(json.dumps(export_child(format_, url, int(book_id), output)))
        return 0
    return print_lines(measure, args, "reports")


def print_lines(measure, args, name: str) -> int:
    """Print what `measure(args, workdir)` yields, in a working directory removed afterwards."""
    workdir = tempfile.mkdtemp(prefix=f"codi-bench-{name}-")
    try:
        for line in measure(args, workdir):
            print(line, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


@contextmanager
def loaded_ledger(args, workdir: str, name: str):
    """A fresh database holding the generated history of `args`: (url, fund, token, entries,
    postings)."""
    history = os.path.join(workdir, "history.jsonl")
    say(f"writing {args.postings:,} postings over {args.years} years")
    entries, postings = write_entries(history, postings=args.postings, years=args.years,
                                      borrowers=args.borrowers, seed=args.seed)  # fmt: skip
    with fresh_database(args.db, name, workdir) as url:
        fund, token, _ = prepare(url, args.borrowers)
        say(f"{args.db}: loading {entries:,} entries ({postings:,} postings) fast")
        load.load(url, history)
        yield url, fund, token, entries, postings


def measure(args, workdir: str):
    with loaded_ledger(args, workdir, "reports") as (url, fund, token, entries, postings):
        yield f"{entries:,} entries, {postings:,} postings, {args.db}\n"
        yield "| report | dates | median ms, slowest date | target | met |\n|---|---|---|---|---|"
        server = Server(url)
        client = Client(server.port, token)
        try:
            tb_ms = 0.0
            for name, paths in report_paths(fund.book_id, args.years).items():
                slowest = max(median_ms(client, path) for path in paths)
                tb_ms = slowest if name == "trial balance" else tb_ms
                met = "yes" if slowest <= REPORT_TARGET_MS else "NO"
                yield f"| {name} | {len(paths)} | {slowest:,.0f} | <= {REPORT_TARGET_MS:,} ms | {met} |"
        finally:
            client.close()
            server.stop()
        yield "\n| export | seconds | MB written | peak memory MB | target | met |\n|---|---|---|---|---|---|"
        outputs = {}
        for format_ in ("csv", "beancount"):
            outputs[format_] = os.path.join(workdir, f"book.{format_}")
            say(f"{args.db}: exporting as {format_}")
            done = run_export(format_, url, fund.book_id, outputs[format_])
            met = "yes" if done["peak_rss_mb"] <= EXPORT_TARGET_MB else "NO"
            yield (f"| {format_} | {done['seconds']:,.1f} | {done['bytes'] / 2**20:,.0f} | {done['peak_rss_mb']:,.0f} "
                   f"| <= {EXPORT_TARGET_MB} MB | {met} |")  # fmt: skip
    yield from compare(outputs["beancount"], workdir, tb_ms)


def compare(ledger: str, workdir: str, ours_ms: float):
    """Other tools' trial balance of the same data, at the last year end, beside ours."""
    yield "\n| the same balances by | ms | ours (trial balance) ÷ theirs |\n|---|---|---|"
    if shutil.which("hledger"):
        journal = os.path.join(workdir, "book.journal")
        hledger_journal(ledger, journal)
        say("hledger balance")
        theirs = hledger_ms(journal, FUND_END)
        yield f"| hledger balance | {theirs:,.0f} | {ours_ms / theirs:.4f} |"
    else:
        yield "| hledger balance | not installed (apt-get install hledger) | – |"
    say("Beancount load and realize")
    theirs = beancount_ms(ledger, FUND_END)
    yield f"| Beancount (load, check, realize) | {theirs:,.0f} | {ours_ms / theirs:.4f} |"


if __name__ == "__main__":
    sys.exit(main())
