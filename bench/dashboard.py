"""The fund office's dashboard at scale (the issue's target: under 300 ms with 10,000 loans and
1,000,000 postings):

    python -m bench.dashboard [--db sqlite|postgres|both] [--loans 10000] [--postings 1000000]

For each database it makes a new one with the fund's seeded history of `--postings` postings
(bench.generate, loaded fast by bench.load) and `--loans` housing loans dated back from today
(disbursed 30 months ago, 60 monthly instalments): two loans recorded through the store, one
repaid on every due date and one that stopped paying eight months ago, copied in SQL
(`bench.cob.copy_loan`) nine to one and spread over the fund's 200 borrower groups. Close of
business (store.loan_cob) then closes each month's end of the last fiscal year and of this one,
and yesterday, as an office would have, writing the loans' months (`loan_month`).

It starts the real server (`codi-ledger run`) and, signed in as an officer over one keep-alive
connection, GETs the dashboard `--requests` times after a few warm-up requests: this fiscal
year (the default), the last fiscal year (twelve months of PAR), and cut by a province. Beside
them, the floors of the same run: the /health round trip (HTTP, no session, no database) and the
dashboard's queries called in this process (store.dashboard, no HTTP, session or template).
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import psycopg
from sqlalchemy import text

from api.context import BANGKOK
from bench import load
from bench.client import Server
from bench.cob import copy_loan
from bench.generate import PROVINCES, write_entries
from bench.pages import Session, p99
from bench.run import fresh_database, prepare, say
from ledger.calendar import fiscal_year_bounds, fiscal_year_of
from ledger.loans import LoanTerms
from store import dashboard, loans, people, users
from store.dashboard import LoanFilter
from store.engine import Database
from store.loan_cob import close_of_business

TARGET_MS = 300
BORROWERS = 200
LOAN_SATANG = 1_500_000_00
OFFICER = ("bench-office", "bench-office-password")
IN_ARREARS_EVERY = 10  # one loan in ten stopped paying


def months_ago(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 - months
    return date(total // 12, total % 12 + 1, min(day.day, 28))


def build(url: str, loan_count: int, postings: int, workdir: str, today: date) -> None:
    """The fund's history, the loans, and close of business at each month's end."""
    fund, _, officer = prepare(url, BORROWERS)
    history = f"{workdir}/history.jsonl"
    entries, written = write_entries(history, postings=postings, years=3, borrowers=BORROWERS, seed=11)
    say(f"loading {entries:,} entries ({written:,} postings)")
    load.load(url, history)
    db = Database(url)
    now = datetime.now(UTC)
    with db.write() as connection:
        approver, _ = users.add_user(connection, name="bench-approver", role="approver", party_id=None, now=now)
        user_id, _ = users.add_user(connection, name=OFFICER[0], role="officer", party_id=None, now=now)
        people.use_setup_code(connection, people.issue_setup_code(connection, user_id, now=now), OFFICER[1], now=now)
        product = _product(connection, fund.book_id, officer, now)
        parties = sorted(connection.execute(text("SELECT id FROM party WHERE kind = 'savings_group'")).scalars())
    late = loan_count // IN_ARREARS_EVERY
    for count, stopped in ((loan_count - late, 0), (late, 8)):
        with db.write() as connection:
            template = _loan(connection, product, parties[0], officer, approver, today, stopped_months_ago=stopped)
        with db.write() as connection:
            copy_loan(connection, template, count - 1)
    with db.write() as connection:  # spread over the borrowers: one group in 200 each
        connection.execute(text("UPDATE loan SET borrower_party_id = :first + (id % :n)"),
                           {"first": parties[0], "n": len(parties)})  # fmt: skip
    assert parties == list(range(parties[0], parties[0] + len(parties))), "borrower ids are not consecutive"
    _close_months(db, today, officer)
    db.dispose()
    if url.startswith("postgresql"):  # as autovacuum would after the closes (it is off on the bench server)
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE loan_month")


def _product(connection, book_id: int, officer: int, now: datetime) -> int:
    terms = LoanTerms(rate_annual_percent=Decimal("4"), term_instalments=60)
    fields = {"book_id": book_id, "code": "HOUSING-4", "name_th": "สินเชื่อบ้านมั่นคง", "terms": terms,
              "min_savings_percent": Decimal("10")}  # fmt: skip
    return loans.create_product(connection, fields, created_by=officer, now=now)["id"]


def _loan(connection, product: int, party: int, officer: int, approver: int, today: date, *,
          stopped_months_ago: int) -> int:  # fmt: skip
    """A loan disbursed 30 months ago, repaid on each due date until `stopped_months_ago`."""
    now = datetime.now(UTC)
    fields = {"product_id": product, "borrower_party_id": party, "amount_satang": LOAN_SATANG,
              "savings_satang": LOAN_SATANG // 10}  # fmt: skip
    loan = loans.apply(connection, fields, recorded_by=officer, now=now)
    loans.approve(connection, loan["id"], approved_by=approver, now=now)
    loans.disburse(connection, loan["id"], amount_satang=LOAN_SATANG, on=months_ago(today, 30), today=today,
                   user_id=officer, now=now)  # fmt: skip
    plan = loans.state(connection, loans.get_loan(connection, loan["id"])).plan
    last_paid = months_ago(today, stopped_months_ago) if stopped_months_ago else today
    for due in (i for i in plan.instalments if i.due_on <= last_paid and i.due_on < today):
        loans.repay(connection, loan["id"], amount_satang=due.total_satang, on=due.due_on, today=today,
                    user_id=officer, now=now)  # fmt: skip
    return loan["id"]


def _close_months(db: Database, today: date, user_id: int) -> None:
    first, _ = fiscal_year_bounds(fiscal_year_of(today) - 1)
    days, start = [], first
    while (start := months_ago(start, -1).replace(day=1)) <= today:
        days.append(start - timedelta(days=1))
    for day in [*days, today - timedelta(days=1)]:
        began = time.perf_counter()
        with db.write() as connection:
            report = close_of_business(connection, day, today=today, user_id=user_id, now=datetime.now(UTC),
                                       reader=db.read)  # fmt: skip
        say(f"close of business {day}: {report.loans_processed:,} loans in {time.perf_counter() - began:,.1f} s")


def store_floor_ms(url: str, chosen: LoanFilter, year: int, today: date, runs: int) -> list[float]:
    """The dashboard's queries in this process: what the page asks of store.dashboard."""
    db = Database(url)
    times = []
    first, last = fiscal_year_bounds(year)
    for _ in range(runs):
        began = time.perf_counter()
        with db.read() as connection:
            closed_on = dashboard.last_closed_day(connection)
            dashboard.portfolio_as_closed(connection, closed_on, chosen)
            dashboard.loans_in_arrears(connection, closed_on, chosen, limit=26)
            dashboard.at_risk_by_month(connection, first, last.replace(day=1), chosen)
            for span in (7, 30):
                dashboard.falling_due(connection, today + timedelta(days=1), today + timedelta(days=span), chosen)
            dashboard.pending(connection)
            dashboard.filter_choices(connection)
        times.append((time.perf_counter() - began) * 1000)
    db.dispose()
    return times


def measure(kind: str, args) -> list[tuple[str, float, float]]:
    today = datetime.now(UTC).astimezone(BANGKOK).date()
    year = fiscal_year_of(today)
    province = PROVINCES[1]
    cases = {
        f"dashboard, fiscal year {year} (this one)": ("/office", LoanFilter(), year),
        f"dashboard, fiscal year {year - 1} (12 months of PAR)": (f"/office?fiscal_year={year - 1}", LoanFilter(),
                                                                  year - 1),
        f"dashboard cut by province ({province})": (f"/office?{urlencode({'province': province})}",
                                                    LoanFilter(province=province), year),
    }  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as workdir, fresh_database(kind, "dashboard", workdir) as url:
        began = time.perf_counter()
        build(url, args.loans, args.postings, workdir, today)
        say(f"{kind}: built in {time.perf_counter() - began:,.0f} s")
        server = Server(url)
        try:
            floor = Session(server.port)
            times = floor.timings_ms("/health", args.requests)
            rows.append(("floor: /health round trip", statistics.median(times), p99(times)))
            floor.close()
            officer = Session(server.port)
            officer.sign_in(*OFFICER)
            pages = {name: officer.timings_ms(path, args.requests) for name, (path, _, _) in cases.items()}
            officer.close()
        finally:
            server.stop()
        # after the pages: an idle keep-alive connection is closed by the server after 5 s
        for name, (_, chosen, chosen_year) in cases.items():
            queries = store_floor_ms(url, chosen, chosen_year, today, args.requests)
            rows += [(name, statistics.median(pages[name]), p99(pages[name])),
                     ("  floor: its queries in-process (store.dashboard)", statistics.median(queries), p99(queries))]
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        rows = measure(kind, args)
        print(f"\n{kind}, {args.loans:,} loans, {args.postings:,} postings: page   p50 ms   p99 ms   "
              f"(target < {TARGET_MS} ms)")  # fmt: skip
        for name, median, high in rows:
            mark = "" if "floor" in name or high < TARGET_MS else "  over the target"
            print(f"  {name:<52} {median:7.1f}  {high:7.1f}{mark}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
