"""Bulk sales import: how many sales a second `store.welfare.import_sales_file` records (the path
the HTTP import takes too: each line's key judged by store.bulk's machinery, each sale two
entries in two books, six postings, a sale row, its idempotency record), and whether its memory
stays flat.

    python -m bench.sales [--sales 100000] [--batch 1000] [--enterprises 200] [--funds 5]

On SQLite (new files in a temporary directory) by default; with DATABASE_URL naming a
PostgreSQL server, in new databases made on that server and dropped afterwards. It registers
the funds and enterprises with a rule each (a rate for all channels, and for some a rate of
their own for online shops), writes seeded market-day sales as JSON lines, and imports them in
a child process whose peak resident memory (VmHWM, as bench.importer reads it) is its own:
first a tenth of them, then the rest, so that the two peaks show whether memory grows with the
work. It checks afterwards that every entry balances and each balance is the sum of its postings.

Beside our rate it prints the raw driver's: the same file imported the same way (two files, in
batches of the same size, in a child process of its own) by `bench.raw_sales`, which writes the
same rows per sale with plain driver statements, into a second new database registered the same
way. That is the database's own floor; the rest of our time is our code. The same checks run on
that database too, and its rows per table must be as many as ours. Like ours, the raw driver
writes a batch's rows of each table in one statement (`bench.raw`'s `insert_many`: COPY on
PostgreSQL, so the postings' statement trigger of migration 0003 runs once a batch on both
sides; executemany on SQLite).
Figures are wall times on whatever machine runs this; they are never asserted in tests.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ledger.welfare import Channel, ContributionRule
from store import books, users, welfare
from store.engine import Database

TARGET_SALES_PER_SECOND = 10_000
FIRST_DAY = date(2024, 6, 1)


def register(url: str, *, enterprises: int, funds: int, seed: int) -> list[int]:
    """The funds, the enterprises (with books and rules) and the import's system user; returns
    the enterprises' party ids."""
    rng, now = random.Random(seed), datetime.now(UTC)
    db = Database(url)
    db.migrate()
    with db.write() as c:
        user = users.add_user(c, name="bench-officer", role="officer", party_id=None, now=now)[0]
        users.system_principal(c, now=now)
        fund_ids = [_party_with_book(c, "welfare_fund", f"WF{n}", now) for n in range(funds)]
        parties = []
        for n in range(enterprises):
            party = _party_with_book(c, "community_enterprise", f"CE{n}", now)
            fund = fund_ids[n % funds]
            rate = Decimal(rng.choice(("1", "2.5", "3", "5")))
            welfare.create_rule(c, ContributionRule(party, fund, rate, None, date(2024, 1, 1)), user_id=user, now=now)
            if n % 3 == 0:
                online = ContributionRule(party, fund, rate / 2, Channel.online_shop, date(2024, 1, 1))
                welfare.create_rule(c, online, user_id=user, now=now)
            parties.append(party)
    db.dispose()
    return parties


def _party_with_book(c, kind: str, code: str, now: datetime) -> int:
    provinces = ("Chiang Mai", "Lampang", "Nan", "Phrae", "Chiang Rai")
    party = books.create_party(c, {"kind": kind, "name_th": code, "region": "north",
                                   "province": provinces[len(code) % len(provinces)]}, now=now)["id"]  # fmt: skip
    book_kind = "welfare_fund" if kind == "welfare_fund" else "enterprise"
    books.create_book(c, {"code": code, "kind": book_kind, "name_th": code, "party_id": party}, now=now)
    return party


def write_sales(path: str, enterprises: list[int], count: int, seed: int, start: int = 0) -> None:
    """`count` seeded sales as JSON lines: a random enterprise, channel, day of June and amount."""
    rng = random.Random(seed + start)
    channels = [c.value for c in Channel]
    with open(path, "w") as out:
        for n in range(start, start + count):
            satang = rng.randint(20_00, 5_000_00)
            sale = {"key": f"sale-{n:08d}", "enterprise_party_id": rng.choice(enterprises),
                    "effective_date": (FIRST_DAY + timedelta(days=rng.randrange(30))).isoformat(),
                    "channel": rng.choice(channels), "amount": f"{satang // 100}.{satang % 100:02d}"}  # fmt: skip
            out.write(json.dumps(sale) + "\n")


def child(which: str, url: str, paths: list[str], batch: int) -> dict:
    """In the child process: import each file in turn, with our code or (`raw`) the raw driver;
    the time and peak memory after each."""
    from bench.importer import peak_rss_mb
    from bench.raw_sales import import_sales_file as raw_import

    db = Database(url)
    parts = []
    for path in paths:
        started = time.perf_counter()
        if which == "raw":
            recorded, rejected = raw_import(url, path, batch), []
        else:
            report = welfare.import_sales_file(db, path, batch_size=batch, now=lambda: datetime.now(UTC))
            recorded, rejected = report.recorded, [list(r) for r in report.rejected[:3]]
        parts.append({"recorded": recorded, "rejected": rejected, "seconds": time.perf_counter() - started,
                      "peak_rss_mb": peak_rss_mb()})  # fmt: skip
    db.dispose()
    return {"parts": parts}


def import_in_child(which: str, url: str, batch: int, paths: list[str]) -> list[dict]:
    """`child`'s parts, run in a process of its own, so that its peak memory is its own."""
    command = [sys.executable, "-m", "bench.sales", "--child", which, url, str(batch), *paths]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)["parts"]


@dataclass(frozen=True)
class Check:
    unbalanced: int  # entries whose postings do not sum to zero
    wrong: int  # balances that differ from the sum of their postings
    rows: dict[str, int]  # rows per table

    @property
    def ok(self) -> bool:
        return self.unbalanced == self.wrong == 0


def check(url: str) -> Check:
    """Unbalanced entries, balances that differ from their postings, and rows per table, counted."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:
        unbalanced = c.execute(text(
            "SELECT count(*) FROM (SELECT entry_id FROM posting GROUP BY entry_id HAVING sum(amount_satang) <> 0) u"
        )).scalar_one()  # fmt: skip
        wrong = c.execute(text(
            "SELECT count(*) FROM account_balance b WHERE b.balance_satang <> "
            "(SELECT coalesce(sum(p.amount_satang), 0) FROM posting p WHERE p.account_id = b.account_id)"
        )).scalar_one()  # fmt: skip
        rows = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in inspect(c).get_table_names()}
    engine.dispose()
    return Check(unbalanced, wrong, rows)


def scratch_database(workdir: str, label: str) -> tuple[str, callable]:
    """A new database: an SQLite file, or on DATABASE_URL's PostgreSQL server; and its remover."""
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgresql"):
        return f"sqlite:///{os.path.join(workdir, f'sales_{label}.db')}", lambda: None
    name = f"codi_bench_sales_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return make_url(server).set(database=name).render_as_string(hide_password=False), drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--enterprises", type=int, default=200)
    parser.add_argument("--funds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2567)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir, ExitStack() as cleanup:
        urls = []
        for label in ("ours", "raw"):
            url, drop = scratch_database(workdir, label)
            cleanup.callback(drop)
            urls.append(url)
        return run(args, *urls, workdir)


def run(args, url: str, raw_url: str, workdir: str) -> int:
    """Register the same ledger in both databases, import the same files into each (ours, then
    the raw driver's), check both and print the figures; 0 if every check passes."""
    enterprises = register(url, enterprises=args.enterprises, funds=args.funds, seed=args.seed)
    if register(raw_url, enterprises=args.enterprises, funds=args.funds, seed=args.seed) != enterprises:
        raise RuntimeError("the two databases were registered differently")
    first = max(1, args.sales // 10)
    paths = [os.path.join(workdir, "first.jsonl"), os.path.join(workdir, "rest.jsonl")]
    write_sales(paths[0], enterprises, first, args.seed)
    write_sales(paths[1], enterprises, args.sales - first, args.seed, start=first)
    parts, raw_parts = (import_in_child(which, u, args.batch, paths) for which, u in (("ours", url), ("raw", raw_url)))
    ours, raw = check(url), check(raw_url)
    show(url.split(":", 1)[0].split("+", 1)[0], parts, raw_parts, ours, raw)
    return 0 if ours.ok and raw.ok and ours.rows == raw.rows else 1


def show(dialect: str, parts: list[dict], raw_parts: list[dict], ours: Check, raw: Check) -> None:
    recorded, seconds = sum(p["recorded"] for p in parts), sum(p["seconds"] for p in parts)
    rate = recorded / seconds
    raw_rate = sum(p["recorded"] for p in raw_parts) / sum(p["seconds"] for p in raw_parts)
    print(f"bulk sales import on {dialect}: {recorded:,} sales ({ours.rows['posting']:,} postings, two books each) "
          f"in {seconds:.1f} s = {rate:,.0f} sales/s (raw driver: {raw_rate:,.0f} sales/s; target >= "
          f"{TARGET_SALES_PER_SECOND:,}: {'met' if rate >= TARGET_SALES_PER_SECOND else 'not met'})")  # fmt: skip
    print(
        f"  first {parts[0]['recorded']:,}: {parts[0]['recorded'] / parts[0]['seconds']:,.0f} sales/s, "
        f"peak RSS {parts[0]['peak_rss_mb']:.0f} MB; all {recorded:,}: peak RSS {parts[1]['peak_rss_mb']:.0f} MB "
        f"(raw driver: {raw_parts[1]['peak_rss_mb']:.0f} MB)"
    )
    print(
        f"  rejected {[r for p in parts for r in p['rejected']]}; unbalanced entries {ours.unbalanced}, "
        f"balances differing from their postings {ours.wrong} (raw driver: {raw.unbalanced} and {raw.wrong})"
    )
    differ = {t: (ours.rows.get(t), raw.rows.get(t)) for t in ours.rows.keys() | raw.rows.keys()
              if ours.rows.get(t) != raw.rows.get(t)}  # fmt: skip
    print(f"  rows per table, ours and the raw driver's: {differ or 'the same'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(sys.argv[2], sys.argv[3], sys.argv[5:], int(sys.argv[4]))))
        sys.exit(0)
    sys.exit(main())
