"""Run the benchmarks and print a markdown table (`make bench`):

    python -m bench.run [--postings 1000000] [--db sqlite|postgres|both] [--import-entries 20000]
                        [--large-import 1000000]

It writes the fund's seeded history once as JSON lines (bench.generate), then for each database
makes a fresh one (an SQLite file in a temporary directory; on PostgreSQL the database
`codi_bench_<pid>_main` on BENCH_PG_URL, dropped afterwards), registers the fund, and:

    loads all but the last 2 x --import-entries entries fast (bench.load), so reads run at scale
    2.   imports the next entries with store.bulk, then the last ones with the raw driver
    3-5. reads through the real server (`codi-ledger run`), and the same queries raw
    1.   posts entries through the server from 8 clients, then the same writes raw, then the
         same requests to a bare FastAPI route validating the entry body (bench.ceiling)
    and checks at the end that every entry balances and every balance is the sum of its postings;
    then, in another new database, imports --large-import entries with store.bulk alone, for the
    rate and the peak memory at that scale, and checks them the same way.

Figures are wall times on whatever machine runs this; they are never asserted in tests.
"""

import argparse
import contextlib
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg

from bench import cases, load
from bench import raw as rawsql
from bench.client import Client, Server
from bench.generate import Fund, create_fund, write_entries
from store import users
from store.engine import Database

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def cpu_times() -> list[int]:
    """Jiffies of user, nice, system, idle, iowait, irq, softirq, steal (Linux /proc/stat)."""
    with open("/proc/stat") as stat:
        return [int(field) for field in stat.readline().split()[1:9]]


def late_wakeups(seconds: float = 5.0) -> tuple[float, float]:
    """How late a 1 ms sleep wakes up on this machine: (p99, max) in ms."""
    late, until = [], time.perf_counter() + seconds
    while time.perf_counter() < until:
        started = time.perf_counter()
        time.sleep(0.001)
        late.append((time.perf_counter() - started) * 1000 - 1)
    return cases.p99(sorted(late)), max(late)


def machine_note(before: list[int], after: list[int], wakeups: tuple[float, float]) -> str:
    spent = [b - a for a, b in zip(before, after, strict=True)]
    steal, busy = spent[7] / max(sum(spent), 1), (sum(spent) - spent[3] - spent[4]) / max(sum(spent), 1)
    return (f"{os.cpu_count()} CPUs, busy {busy:.0%} of the run, {steal:.0%} of CPU time stolen by the "
            f"hypervisor; a 1 ms sleep woke up to {wakeups[1]:,.0f} ms late (p99 {wakeups[0]:,.0f} ms)")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def fresh_database(kind: str, name: str, workdir: str) -> Iterator[str]:
    """The URL of a new, empty database, removed when the block ends."""
    if kind == "sqlite":
        yield f"sqlite:///{os.path.join(workdir, name)}.db"
        return
    server = PG_URL.replace("+psycopg", "")
    database = f"codi_bench_{os.getpid()}_{name}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + database
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def prepare(url: str, borrowers: int) -> tuple[Fund, str, int]:
    """Migrate, register the fund, and make the import's system user and an officer; returns
    the fund, the officer's token and id."""
    db = Database(url)
    db.migrate()
    now = datetime.now(UTC)
    fund = create_fund(db, borrowers=borrowers, now=now)
    with db.write() as connection:
        users.system_principal(connection, now=now)
        officer_id, token = users.add_user(connection, name="bench-officer", role="officer", party_id=None, now=now)
    db.dispose()
    return fund, token, officer_id


def split(path: str, imported: int) -> tuple[str, str, str, int]:
    """Cut the history into the part loaded fast and two parts of `imported` entries, imported
    by us and by the raw driver; returns their paths and the number of entries loaded fast."""
    with open(path, "rb") as source:
        lines = source.readlines()
    loaded = len(lines) - 2 * imported
    parts = (lines[:loaded], lines[loaded : loaded + imported], lines[loaded + imported :])
    paths = tuple(f"{path}.{name}" for name in ("load", "ours", "raw"))
    for part_path, part in zip(paths, parts, strict=True):
        with open(part_path, "wb") as out:
            out.writelines(part)
    return (*paths, loaded)


def bench_database(kind: str, args, paths: tuple[str, str, str, int], workdir: str) -> list[cases.Row]:
    load_path, ours_path, raw_path, loaded = paths
    rows: list[cases.Row] = []
    with fresh_database(kind, "main", workdir) as url:
        say(f"{kind}: migrating and registering the fund with {args.borrowers} borrowers")
        fund, token, officer_id = prepare(url, args.borrowers)
        say(f"{kind}: loading {loaded:,} entries fast (bench.load)")
        started = time.perf_counter()
        load.load(url, load_path)
        say(f"{kind}: loaded in {time.perf_counter() - started:,.0f} s")
        say(f"{kind}: 2. bulk import of {args.import_entries:,} entries, ours then raw")
        rows += cases.bulk_import(kind, url, (ours_path, raw_path), args.batch, args.import_entries, loaded)
        say(f"{kind}: starting the server")
        server = Server(url)
        client, raw = Client(server.port, token), rawsql.Raw(url)
        try:
            say(f"{kind}: 3. balance, 4. trial balance, 5. statements")
            rows += cases.balance(kind, client, raw, fund.accounts["1100"], args.samples)
            rows += cases.trial_balance(kind, client, raw, fund, max(args.samples // 25, 5), args.years)
            rows += cases.statements(kind, client, raw, fund, max(args.samples // 25, 5), args.years)
            say(f"{kind}: 1. posting, {args.clients} clients for {args.seconds:.0f} s, ours then raw")
            rows += cases.posting(kind, server.port, token, fund, url, officer_id,
                                  clients=args.clients, seconds=args.seconds)  # fmt: skip
        finally:
            client.close()
            raw.close()
            server.stop()
        say(f"{kind}: checking that every entry balances and every balance is the sum of its postings")
        load.check(url)
    return rows


def bench_large_import(kind: str, args, path: str, workdir: str) -> list[cases.Row]:
    with fresh_database(kind, "large", workdir) as url:
        prepare(url, args.borrowers)
        say(f"{kind}: 2. bulk import of {args.large_import:,} entries into a new ledger")
        started = time.perf_counter()
        rows = cases.large_import(kind, url, path, args.batch, args.large_import)
        say(f"{kind}: imported in {time.perf_counter() - started:,.0f} s; checking every entry and balance")
        load.check(url)
    return rows


def figure(value: float, unit: str) -> str:
    if math.isnan(value):
        return "–"
    if unit == "entries/s":
        return f"{value:,.0f} entries/s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def table(rows: list[cases.Row]) -> str:
    lines = ["| benchmark | db | ours | raw driver | ours ÷ raw cost | bare FastAPI ceiling | ours ÷ ceiling | target "
             "| met |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in sorted(rows, key=lambda r: (r.benchmark[:2], r.db == "postgres")):
        ours, raw, ceiling = figure(row.ours, row.unit), figure(row.raw, row.unit), figure(row.ceiling, row.unit)
        ratio = "–" if math.isnan(row.cost_ratio) else f"{row.cost_ratio:.1f}x"
        share = "–" if math.isnan(row.ceiling) else f"{row.ours / row.ceiling:.0%}"
        lines.append(f"| {row.benchmark} | {row.db} | {ours} | {raw} | {ratio} | {ceiling} | {share} "
                     f"| {row.target} | {row.met} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--postings", type=int, default=1_000_000, help="postings in the history")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--years", type=int, default=3, help="fiscal years of history (at least 2)")
    parser.add_argument("--borrowers", type=int, default=200)
    parser.add_argument("--import-entries", type=int, default=20_000,
                        help="entries imported by store.bulk, and as many by the raw driver (benchmark 2); "
                        "the rest of the history is loaded fast (bench.load)")  # fmt: skip
    parser.add_argument("--large-import", type=int, default=1_000_000,
                        help="entries imported by store.bulk alone into a new ledger, for rate and memory "
                        "at scale (0 skips it)")  # fmt: skip
    parser.add_argument("--batch", type=int, default=1000, help="bulk import batch size")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients posting entries")
    parser.add_argument("--seconds", type=float, default=20, help="how long each posting run lasts")
    parser.add_argument("--samples", type=int, default=500, help="balance reads measured")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.years < 2:
        parser.error("--years must be at least 2 (statements compare the first and last year)")
    workdir = tempfile.mkdtemp(prefix="codi-bench-")
    started, cpu_before = time.perf_counter(), cpu_times()
    wakeups = late_wakeups()
    try:
        path = os.path.join(workdir, "history.jsonl")
        say(f"writing {args.postings:,} postings over {args.years} years, seed {args.seed}")
        entries, postings = write_entries(path, postings=args.postings, years=args.years,
                                          borrowers=args.borrowers, seed=args.seed)  # fmt: skip
        if entries < 2 * args.import_entries:
            parser.error(f"--import-entries must be at most half of the {entries:,} entries")
        paths = split(path, args.import_entries)
        large_path = os.path.join(workdir, "large.jsonl")
        if args.large_import:
            say(f"writing {args.large_import:,} entries for the large import")
            write_entries(large_path, postings=3 * args.large_import, years=args.years, borrowers=args.borrowers,
                          seed=args.seed + 1, most_entries=args.large_import)  # fmt: skip
        rows = []
        for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
            done = bench_database(kind, args, paths, workdir)
            if args.large_import:
                done += bench_large_import(kind, args, large_path, workdir)
            say(f"{kind} done:\n{table(done)}")  # kept even if a later database fails
            rows += done
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    minutes = (time.perf_counter() - started) / 60
    print(f"\n{entries:,} entries, {postings:,} postings over {args.years} years, {args.borrowers} "
          f"borrowers; {minutes:.1f} min in all.\nMachine: {machine_note(cpu_before, cpu_times(), wakeups)}\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
