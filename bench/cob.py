"""Close of business at scale (`make bench` runs it after bench.run):

    python -m bench.cob [--loans 20000] [--db postgres|sqlite]

Makes a new database (as bench.run does), registers the fund with 200 borrower groups and a
product (4 % a year, monthly over 60 months), then records one loan through the store (applied
for, approved by another user, disbursed in full on 1 April 2021 and repaid on each due date:
by 31 October 2023 it is half-way through its 60 instalments) and copies it in SQL into
`--loans` loans: each copy has the loan's row, schedule, instalments and transactions (the copies
share the template's receivable sub-account and entries, which close of business does not
read; registering 100,000 loans through the store would take 45 minutes). It then times
close of business (store.loan_cob) for 31 October 2023, when every loan has a month of interest
to accrue (what it earned before was paid with its instalments), and again for the same day,
when there is nothing left to do; and reports the peak memory of the process (VmHWM), which
should not grow with the number of loans: close of business reads and writes loans in batches.
"""

import argparse
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench import run as bench_run
from bench.generate import create_fund
from bench.importer import peak_rss_mb
from ledger.loans import LoanTerms
from store import books, loans, users
from store.engine import Database
from store.loan_cob import close_of_business

DISBURSED_ON, CLOSED_ON = date(2021, 4, 1), date(2023, 10, 31)
LOAN_SATANG = 1_500_000_00


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
        party = books.get_account(connection, fund.accounts[fund.borrowers[0]])["party_id"]
        template = _disbursed_loan(connection, product, party, officer, approver, now)
    with db.write() as connection:
        copy_loan(connection, template, count - 1)
    db.dispose()


def copy_loan(connection, loan_id: int, copies: int) -> None:
    """`copies` loans like `loan_id`, numbered after it: its rows of each loan table, keyed anew."""
    numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :copies) "
    if connection.dialect.name == "postgresql":  # copies of rows that passed their checks: skip the
        connection.execute(text("SET LOCAL session_replication_role = replica"))  # foreign-key triggers
    for table, key in (("loan", "id"), ("loan_schedule", "loan_id"), ("loan_instalment", "loan_id"),
                       ("loan_transaction", "loan_id")):  # fmt: skip
        own = loans.loan_t.metadata.tables[table].columns
        columns = [c.name for c in own if (c.name, table) != ("id", "loan_transaction")]
        chosen = ", ".join(f"t.{c} + n.i" if c == key else f"t.{c}" for c in columns)
        connection.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) {numbers}"
                                f"SELECT {chosen} FROM {table} t CROSS JOIN n WHERE t.{key} = :loan"),
                           {"copies": copies, "loan": loan_id})  # fmt: skip
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT setval(pg_get_serial_sequence('loan', 'id'), (SELECT max(id) FROM loan))"))
    connection.execute(text("ANALYZE"))  # as autovacuum would after a load (it is off on the bench server)


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


def _disbursed_loan(connection, product: int, party: int, officer: int, approver: int, now: datetime) -> int:
    fields = {"product_id": product, "borrower_party_id": party, "amount_satang": LOAN_SATANG,
              "savings_satang": LOAN_SATANG // 10}
    loan = loans.apply(connection, fields, recorded_by=officer, now=now)
    loans.approve(connection, loan["id"], approved_by=approver, now=now)
    loans.disburse(connection, loan["id"], amount_satang=LOAN_SATANG, on=DISBURSED_ON, today=CLOSED_ON,
                   user_id=officer, now=now)
    plan = loans.state(connection, loans.get_loan(connection, loan["id"])).plan
    for due in (i for i in plan.instalments if i.due_on <= CLOSED_ON):
        loans.repay(connection, loan["id"], amount_satang=due.total_satang, on=due.due_on, today=CLOSED_ON,
                    user_id=officer, now=now)  # fmt: skip
    return loan["id"]


def timed_close(url: str) -> tuple[float, object]:
    db = Database(url)
    with db.write() as connection:
        user = users.system_principal(connection, now=datetime.now(UTC)).user_id
    started = time.perf_counter()
    with db.write() as connection:
        report = close_of_business(connection, CLOSED_ON, today=CLOSED_ON, user_id=user, now=datetime.now(UTC),
                                   reader=db.read)  # fmt: skip
    seconds = time.perf_counter() - started
    db.dispose()
    return seconds, report


def raw_writes(url: str) -> float:
    """The database's floor for close of business's writes: the same loan transactions (the
    accruals just made, dated a day later) and loan updates as set-based SQL statements, timed
    and rolled back. The journal entries (a few per batch) are left out: they are not the cost."""
    engine = create_engine(url, poolclass=NullPool)
    columns = [c.name for c in loans.loan_tx_t.columns if c.name != "id"]
    later = "date(effective_date, '+1 day')" if engine.dialect.name == "sqlite" else "effective_date + 1"
    chosen = ", ".join(later if c == "effective_date" else c for c in columns)
    started = time.perf_counter()
    with engine.connect() as connection:
        connection.execute(text(f"INSERT INTO loan_transaction ({', '.join(columns)}) SELECT {chosen} "
                                "FROM loan_transaction WHERE kind = 'accrual' AND effective_date = :day"),
                           {"day": CLOSED_ON})  # fmt: skip
        connection.execute(text("UPDATE loan SET cob_through = :next, days_past_due = 0, loan_class = 'pass', "
                                "accruing = :yes WHERE status = 'active'"),
                           {"next": date.fromordinal(CLOSED_ON.toordinal() + 1), "yes": True})  # fmt: skip
        seconds = time.perf_counter() - started
        connection.rollback()
    engine.dispose()
    return seconds


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
        raw = raw_writes(url)
    print(f"close of business, {args.db}, {args.loans:,} active loans: {seconds:,.1f} s "
          f"({args.loans / seconds:,.0f} loans/s; {report.loans_accrued:,} accrued, {report.accrued_satang / 100:,.2f} "
          f"baht, {report.non_performing} non-performing); the same day again: "
          f"{again:,.1f} s, {repeat.loans_processed} processed; the same writes in raw SQL: {raw:,.1f} s; "
          f"peak memory {peak_rss_mb():,.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
