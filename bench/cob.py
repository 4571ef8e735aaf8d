"""Close of business at scale (`make bench` runs it after bench.run):

    python -m bench.cob [--loans 20000] [--db postgres|sqlite]

Makes a new database (as bench.run does), registers the fund with 200 borrower groups and a
product (4 % a year, monthly over 60 months), then records `--loans` loans through the store,
each applied for, approved by another user and disbursed in full on 1 October 2023, in
transactions of 500 loans. It then times close of business (store.loan_cob) for 31 October 2023,
when every loan has a month of interest to accrue, and again for the same day, when there is
nothing left to do; and reports the peak memory of the process (VmHWM), which should not grow
with the number of loans: close of business reads and writes loans in batches.
"""

import argparse
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from bench import run as bench_run
from bench.generate import create_fund
from bench.importer import peak_rss_mb
from ledger.loans import LoanTerms
from store import books, loans, users
from store.engine import Database
from store.loan_cob import close_of_business

DISBURSED_ON, CLOSED_ON = date(2023, 10, 1), date(2023, 10, 31)
LOAN_SATANG = 1_500_000_00
BATCH = 500


def register(url: str, count: int) -> None:
    """The fund, its cash, a product and `count` disbursed loans."""
    db = Database(url)
    db.migrate()
    now = datetime.now(UTC)
    fund = create_fund(db, borrowers=200, now=now)
    with db.write() as connection:
        officer, _ = users.add_user(connection, name="officer", role="officer", party_id=None, now=now)
        approver, _ = users.add_user(connection, name="approver", role="approver", party_id=None, now=now)
        product = _product_and_cash(connection, fund, count, officer, now)
        parties = [books.get_account(connection, fund.accounts[code])["party_id"] for code in fund.borrowers]
    for first in range(0, count, BATCH):
        with db.write() as connection:
            for number in range(first, min(first + BATCH, count)):
                _disbursed_loan(connection, product, parties[number % len(parties)], officer, approver, now)
    db.dispose()


def _product_and_cash(connection, fund, count: int, officer: int, now: datetime) -> int:
    from ledger.accounts import EntryDraft, Posting
    from store import journal

    capital = count * LOAN_SATANG
    opening = EntryDraft(book_id=fund.book_id, effective_date=DISBURSED_ON, kind="opening", description="Capital",
                         postings=(Posting(fund.accounts["1100"], capital), Posting(fund.accounts["3100"], -capital)))
    journal.record_entry(connection, opening, recorded_by=officer, recorded_at=now)
    terms = LoanTerms(rate_annual_percent=Decimal("4"), term_instalments=60)
    fields = {"book_id": fund.book_id, "code": "HOUSING-4", "name_th": "สินเชื่อที่อยู่อาศัย", "terms": terms,
              "min_savings_percent": Decimal("10")}
    return loans.create_product(connection, fields, created_by=officer, now=now)["id"]


def _disbursed_loan(connection, product: int, party: int, officer: int, approver: int, now: datetime) -> None:
    fields = {"product_id": product, "borrower_party_id": party, "amount_satang": LOAN_SATANG,
              "savings_satang": LOAN_SATANG // 10}
    loan = loans.apply(connection, fields, recorded_by=officer, now=now)
    loans.approve(connection, loan["id"], approved_by=approver, now=now)
    loans.disburse(connection, loan["id"], amount_satang=LOAN_SATANG, on=DISBURSED_ON, today=CLOSED_ON,
                   user_id=officer, now=now)


def timed_close(url: str) -> tuple[float, object]:
    db = Database(url)
    with db.write() as connection:
        user = users.system_principal(connection, now=datetime.now(UTC)).user_id
    started = time.perf_counter()
    with db.write() as connection:
        report = close_of_business(connection, CLOSED_ON, today=CLOSED_ON, user_id=user, now=datetime.now(UTC))
    seconds = time.perf_counter() - started
    db.dispose()
    return seconds, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cob", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    args = parser.parse_args(argv)
    with bench_run.fresh_database(args.db, "cob", "/tmp") as url:
        started = time.perf_counter()
        register(url, args.loans)
        bench_run.say(f"{args.loans:,} loans registered in {time.perf_counter() - started:,.0f} s")
        seconds, report = timed_close(url)
        again, repeat = timed_close(url)
    print(f"close of business, {args.db}, {args.loans:,} active loans: {seconds:,.1f} s "
          f"({args.loans / seconds:,.0f} loans/s; {report.loans_accrued:,} accrued); the same day again: "
          f"{again:,.1f} s, {repeat.loans_processed} processed; peak memory {peak_rss_mb():,.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
