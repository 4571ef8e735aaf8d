"""Run the benchmarks and print a markdown table (`make bench`):

    python -m bench.run [--postings 100000] [--db sqlite|postgres|both] [--years 3] [--seconds 20]

For each database it makes two fresh ones (SQLite files in a temporary directory; PostgreSQL
databases `codi_bench_<pid>_main` and `_raw` on BENCH_PG_URL, dropped afterwards), registers the
same fund in both, and writes the fund's seeded history once as JSON lines. Then:

    2. bulk import of that history: ours (store.bulk) into one, raw driver into the other
    3-5. reads through the real server started on the first; raw reads on the same data
    1. posting through the server with 8 clients; raw posting into the second database

Figures are wall times on whatever machine runs this; they are never asserted in tests.
"""

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg

from bench import cases
from bench import raw as rawsql
from bench.client import Client, Server
from bench.generate import Fund, create_fund, write_entries
from store import users
from store.engine import Database

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


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
        officer_id, token = users.add_user(
            connection, name="bench-officer", role="officer", party_id=None, now=now
        )
    db.dispose()
    return fund, token, officer_id


def bench_database(kind: str, args, path: str, entries: int, workdir: str) -> list[cases.Row]:
    rows: list[cases.Row] = []
    with (
        fresh_database(kind, "main", workdir) as url,
        fresh_database(kind, "raw", workdir) as raw_url,
    ):
        say(f"{kind}: preparing two databases")
        fund, token, _ = prepare(url, args.borrowers)
        raw_fund, _, raw_officer = prepare(raw_url, args.borrowers)
        say(f"{kind}: 2. bulk import of {entries:,} entries, ours then raw")
        rows += cases.bulk_import(kind, url, raw_url, path, args.batch, entries)
        say(f"{kind}: starting the server")
        server = Server(url)
        client, raw = Client(server.port, token), rawsql.Raw(url)
        try:
            say(f"{kind}: 3. balance")
            rows += cases.balance(kind, client, raw, fund.accounts["1100"], args.samples)
            say(f"{kind}: 4. trial balance")
            rows += cases.trial_balance(
                kind, client, raw, fund, max(args.samples // 25, 6), args.years
            )
            say(f"{kind}: 5. statements")
            rows += cases.statements(kind, client, raw, fund, 3, args.years)
            say(
                f"{kind}: 1. posting, {args.clients} clients, {args.seconds:.0f} s each, ours then raw"
            )
            rows += cases.posting(
                kind,
                server.port,
                token,
                fund,
                raw_url,
                raw_fund,
                raw_officer,
                clients=args.clients,
                seconds=args.seconds,
            )
        finally:
            client.close()
            raw.close()
            server.stop()
    return rows


def figure(value: float, unit: str) -> str:
    if unit == "entries/s":
        return f"{value:,.0f} entries/s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def table(rows: list[cases.Row]) -> str:
    lines = [
        "| benchmark | db | ours | raw driver | ours ÷ raw cost | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r.benchmark[:2], r.db == "postgres")):
        lines.append(
            f"| {row.benchmark} | {row.db} | {figure(row.ours, row.unit)} | {figure(row.raw, row.unit)} "
            f"| {row.cost_ratio:.1f}x | {row.target} | {row.met} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--postings", type=int, default=100_000, help="postings in the fund's history"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--years", type=int, default=3, help="fiscal years of history (at least 2)")
    parser.add_argument("--borrowers", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000, help="bulk import batch size")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients posting entries")
    parser.add_argument("--seconds", type=float, default=20, help="how long each posting run lasts")
    parser.add_argument("--samples", type=int, default=500, help="balance reads measured")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.years < 2:
        parser.error("--years must be at least 2 (statements compare the first and last year)")
    workdir = tempfile.mkdtemp(prefix="codi-bench-")
    started = time.perf_counter()
    try:
        path = os.path.join(workdir, "history.jsonl")
        say(
            f"writing {args.postings:,} postings of history over {args.years} years (seed {args.seed})"
        )
        entries, postings = write_entries(
            path, postings=args.postings, years=args.years, borrowers=args.borrowers, seed=args.seed
        )
        rows = []
        for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
            rows += bench_database(kind, args, path, entries, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\n{entries:,} entries, {postings:,} postings over {args.years} years; {args.borrowers} borrowers; "
        f"{os.cpu_count()} CPUs; {(time.perf_counter() - started) / 60:.1f} min in all\n"
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
