"""Three tiers at scale (issue 18's targets: a look-through report for 1,000 organisations and
100,000 members under 1 s; close of business over 100,000 member loans under 60 s on PostgreSQL):

    python -m bench.tiers [--db sqlite|postgres] [--organisations 1000] [--members 100000] [--runs 10]

Makes a new database (as bench.run does) and registers, through the store, `--organisations`
organisations (cooperatives and savings groups over the provinces, ten incubation centres, one
in three in a programme), each with its organisation book and a member loan product (6 % a year,
monthly over 36 months). One member is registered through the store and copied in SQL into
`--members` members, spread evenly over the organisations. Two member loans are recorded
through the store, disbursed on 16 January 2023: one repaid on each due date up to 31 October
2023, one that stopped after three instalments (in arrears since May). They are copied in SQL
(as `bench.cob.copy_loan` copies CODI's loans) into one loan a member, one in ten a late one,
each in its member's organisation's book, under its product, with a receivable sub-account of
its own whose monthly movements (`account_month`) are the template's: what the look-through
reads of a loan's balance. Registering 100,000 loans through the store would take hours.

It then times, with the load average of the machine beside each figure:
- the look-through (`store.look_through.look_through`) on 30 September 2023, the last day of
  fiscal year 2023 (twelve months of collection), `--runs` times in this process, beside its
  floor: the same SQL statements, captured from one run and replayed on the driver, fetching
  every row; then the same report through the real server (`codi-ledger run`) as an officer,
  over one keep-alive connection (GET /v1/reports/look-through, JSON);
- close of business (store.loan_cob) for 31 October 2023 over all the member loans, beside its
  floor (`bench.cob.raw_writes`: the same loan writes as set-based SQL).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
from sqlalchemy import event, select, text

from bench import cob
from bench.client import Client, Server
from bench.generate import PROVINCES
from bench.pages import p99
from bench.run import fresh_database, say
from ledger.accounts import EntryDraft, Posting
from ledger.loans import LoanTerms
from store import books, journal, loans, reports, users
from store.engine import Database
from store.look_through import look_through

TARGET_REPORT_MS, TARGET_COB_S = 1000, 60
AS_OF, CLOSED_ON, DISBURSED_ON = date(2023, 9, 30), cob.CLOSED_ON, date(2023, 1, 16)
CAPITAL_SATANG, LOAN_SATANG, LATE_EVERY, LATE_PAID = 1_000_000_00, 30_000_00, 10, 3
CENTRES = 10
NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < :last) "


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} (1/5 min, {os.cpu_count()} CPUs)"


# --- the organisations, their members and their loans ----------------------------------------------


def build(url: str, organisations: int, members: int) -> str:
    """The organisations, members and member loans; returns an officer's token."""
    db = Database(url)
    db.migrate()
    now = datetime.now(UTC)
    with db.write() as connection:
        users.system_principal(connection, now=now)
        officer, token = users.add_user(connection, name="bench-officer", role="officer", party_id=None, now=now)
        approver, _ = users.add_user(connection, name="bench-approver", role="approver", party_id=None, now=now)
        centres = [books.create_party(connection, {"kind": "incubation_centre", "name_th": f"ศูนย์ {k}"}, now=now)["id"]
                   for k in range(CENTRES)]  # fmt: skip
        orgs = [_organisation(connection, k, centres, officer, now) for k in range(organisations)]
    for name, ids in zip(("party", "book", "product"), zip(*orgs, strict=True), strict=True):
        assert list(ids) == list(range(ids[0], ids[0] + organisations)), f"{name} ids are not consecutive"
    with db.write() as connection:
        first_member = books.create_party(connection, {"kind": "member", "name_th": "สมาชิก 0",
                                                       "member_of": orgs[0][0]}, now=now)["id"]  # fmt: skip
        _copy_members(connection, first_member, orgs[0][0], organisations, members)
    with db.write() as connection:  # member 0 in organisation 0 is late; member 1 in organisation 1 pays
        late = _loan(connection, orgs[0][2], first_member, officer, approver, now, paid=LATE_PAID)
        paying = _loan(connection, orgs[1][2], first_member + 1, officer, approver, now, paid=None)
    with db.write() as connection:
        _copy_loans(connection, {"late": late, "paying": paying, "m0": first_member, "book0": orgs[0][1],
                                 "product0": orgs[0][2], "orgs": organisations, "last": members - 1})  # fmt: skip
    db.dispose()
    if url.startswith("postgresql"):  # as autovacuum would after a load (it is off on the bench server)
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
    return token


def _organisation(connection, k: int, centres: list[int], officer: int, now: datetime) -> tuple[int, int, int]:
    """An organisation's party, its book and its member loan product."""
    kind = "cooperative" if k % 2 else "savings_group"
    party = books.create_party(connection, {"kind": kind, "name_th": f"องค์กร {k}", "name_en": f"Organisation {k}",
                                            "region": "north", "province": PROVINCES[k % len(PROVINCES)],
                                            "centre_id": centres[k % len(centres)]}, now=now)  # fmt: skip
    if k % 3 == 0:
        reports.add_programme(connection, party["id"], "baan_mankong")
    book = books.create_book(connection, {"code": f"ORG-{k}", "kind": "organisation", "name_th": f"องค์กร {k}",
                                          "party_id": party["id"]}, now=now)  # fmt: skip
    accounts = {a["code"]: a["id"] for a in books.book_accounts(connection, book["id"])}
    capital = EntryDraft(
        book_id=book["id"],
        effective_date=date(2022, 10, 3),
        kind="opening",
        description="Capital",
        postings=(Posting(accounts["1100"], CAPITAL_SATANG), Posting(accounts["3100"], -CAPITAL_SATANG)),
    )
    journal.record_entry(connection, capital, recorded_by=officer, recorded_at=now)
    terms = LoanTerms(rate_annual_percent=Decimal("6"), term_instalments=36)
    product = loans.create_product(connection, {"book_id": book["id"], "code": f"M-{k}", "name_th": "เงินกู้สมาชิก",
                                                "terms": terms, "min_savings_percent": Decimal("0")},
                                   created_by=officer, now=now)  # fmt: skip
    return party["id"], book["id"], product["id"]


def _copy_members(connection, member: int, org0: int, organisations: int, members: int) -> None:
    """Members 1 .. `members` - 1, copies of `member` numbered after it, member i in organisation i mod n."""
    columns = [c.name for c in books.party_t.columns]
    chosen = {"id": "t.id + n.i", "member_of": ":org0 + n.i % :orgs", "name_th": "t.name_th"}
    numbers = NUMBERS.replace("SELECT 2", "SELECT 1")
    connection.execute(text(f"INSERT INTO party ({', '.join(columns)}) {numbers}SELECT "
                            f"{', '.join(chosen.get(c, f't.{c}') for c in columns)} FROM party t CROSS JOIN n "
                            "WHERE t.id = :member"),
                       {"last": members - 1, "org0": org0, "orgs": organisations, "member": member})  # fmt: skip
    _reset_sequence(connection, "party")


def _loan(connection, product: int, member: int, officer: int, approver: int, now: datetime, *, paid) -> int:
    """A member loan disbursed on DISBURSED_ON, its first `paid` instalments repaid when due (all
    due by CLOSED_ON if None)."""
    fields = {"product_id": product, "borrower_party_id": member, "amount_satang": LOAN_SATANG, "savings_satang": 0}
    loan = loans.apply(connection, fields, recorded_by=officer, now=now)
    loans.approve(connection, loan["id"], approved_by=approver, now=now)
    loans.disburse(connection, loan["id"], amount_satang=LOAN_SATANG, on=DISBURSED_ON, today=CLOSED_ON,
                   user_id=officer, now=now)  # fmt: skip
    plan = loans.state(connection, loans.get_loan(connection, loan["id"])).plan
    for due in [i for i in plan.instalments if i.due_on <= CLOSED_ON][:paid]:
        loans.repay(connection, loan["id"], amount_satang=due.total_satang, on=due.due_on, today=CLOSED_ON,
                    user_id=officer, now=now)  # fmt: skip
    return loan["id"]


def _copy_loans(connection, at: dict) -> None:
    """Loans 2 .. last (one a member, numbered after the templates), copies of the late template
    where i mod LATE_EVERY is 0 and of the paying one elsewhere, each with a receivable
    sub-account of its own under its book's 1200 and that account's monthly movements."""
    newest = {
        table: connection.execute(text(f"SELECT max(id) FROM {table}")).scalar_one() for table in ("loan", "account")
    }
    at |= {"base": newest["loan"], "account0": newest["account"], "every": LATE_EVERY}
    book, loan_id = ":book0 + n.i % :orgs", ":base + n.i"
    receivables = {name: connection.execute(select(loans.loan_t.c.receivable_account_id)
                                            .where(loans.loan_t.c.id == at[name])).scalar_one()
                   for name in ("late", "paying")}  # fmt: skip
    for name, test in (("late", "= 0"), ("paying", "<> 0")):
        chosen = f"(n.i / :orgs) % :every {test}"
        values = {**at, "template": at[name], "account": receivables[name]}
        connection.execute(text(  # the account_balance row comes with each account (a trigger)
            f"INSERT INTO account (id, book_id, code, name_th, name_en, type, balance_rule, parent_id, party_id, "
            f"created_at) {NUMBERS}SELECT :account0 + n.i, {book}, '1200-L' || CAST({loan_id} AS TEXT), t.name_th, "
            f"t.name_en, t.type, t.balance_rule, parent.id, :m0 + n.i, t.created_at FROM account t CROSS JOIN n "
            f"JOIN account parent ON parent.book_id = {book} AND parent.code = '1200' "
            f"WHERE t.id = :account AND {chosen}"), values)  # fmt: skip
        connection.execute(text(
            f"INSERT INTO account_month (account_id, month_start, book_id, movement_satang) {NUMBERS}"
            f"SELECT :account0 + n.i, t.month_start, {book}, t.movement_satang FROM account_month t CROSS JOIN n "
            f"WHERE t.account_id = :account AND {chosen}"), values)  # fmt: skip
        connection.execute(text(
            "UPDATE account_balance SET balance_satang = (SELECT balance_satang FROM account_balance WHERE "
            "account_id = :account) WHERE account_id > :account0 "
            f"AND ((account_id - :account0) / :orgs) % :every {test}"),
            values)  # fmt: skip
    _reset_sequence(connection, "account")
    if connection.dialect.name == "postgresql":  # copies of rows that passed their checks: skip the
        connection.execute(text("SET LOCAL session_replication_role = replica"))  # foreign-key triggers
    for name, chosen in (("late", "n.i % :every = 0"), ("paying", "n.i % :every <> 0")):
        for table, key in (("loan", "id"), ("loan_schedule", "loan_id"), ("loan_instalment", "loan_id"),
                           ("loan_transaction", "loan_id")):  # fmt: skip
            columns = [c.name for c in loans.loan_t.metadata.tables[table].columns
                       if (c.name, table) != ("id", "loan_transaction")]  # fmt: skip
            own = {key: loan_id, "book_id": book, "borrower_party_id": ":m0 + n.i",
                   "product_id": ":product0 + n.i % :orgs", "receivable_account_id": ":account0 + n.i"}  # fmt: skip
            picked = ", ".join(own[c] if c in own and (table == "loan" or c in (key, "book_id")) else f"t.{c}"
                               for c in columns)  # fmt: skip
            connection.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) {NUMBERS}SELECT {picked} "
                                    f"FROM {table} t CROSS JOIN n WHERE t.{key} = :template AND {chosen}"),
                               {**at, "template": at[name]})  # fmt: skip
    _reset_sequence(connection, "loan")
    connection.execute(text("ANALYZE"))


def _reset_sequence(connection, table: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        )


# --- the measures ----------------------------------------------------------------------------------


def report_in_process(url: str, runs: int) -> tuple[list[float], list[float], list]:
    """The look-through in this process `runs` times, and its statements replayed on the driver
    as often (the floor); and the figures of the last run."""
    db = Database(url)
    statements: list[tuple[str, object]] = []

    def captured(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    times, lines = [], []
    for run in range(runs + 1):
        if run == 1:
            event.listen(db.reader_engine, "before_cursor_execute", captured)
        began = time.perf_counter()
        with db.read() as connection:
            lines = look_through(connection, AS_OF)
        if run:
            times.append((time.perf_counter() - began) * 1000)
        if run == 1:
            event.remove(db.reader_engine, "before_cursor_execute", captured)
    floor = []
    raw = db.reader_engine.raw_connection()
    try:
        for _ in range(runs):
            began = time.perf_counter()
            cursor = raw.cursor()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                cursor.fetchall()
            floor.append((time.perf_counter() - began) * 1000)
            raw.rollback()
    finally:
        raw.close()
    db.dispose()
    say(f"the look-through runs {len(statements)} statements")
    return times, floor, lines


def report_over_http(url: str, token: str, runs: int) -> list[float]:
    server = Server(url)
    try:
        client = Client(server.port, token)
        path = f"/v1/reports/look-through?as_of={AS_OF}"
        client.get_json(path)  # warm-up, and a check that it answers
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            status, _ = client.get(path)
            times.append((time.perf_counter() - began) * 1000)
            assert status == 200, status
        client.close()
    finally:
        server.stop()
    return times


class Lines(list):
    """The figures, each also said as soon as it is measured: a later failure keeps them."""

    def append(self, line: str) -> None:
        say(line.strip())
        super().append(line)


def measure(kind: str, args) -> list[str]:
    lines_out = Lines()
    with tempfile.TemporaryDirectory() as workdir, fresh_database(kind, "tiers", workdir) as url:
        began = time.perf_counter()
        token = build(url, args.organisations, args.members)
        say(f"{kind}: {args.organisations:,} organisations, {args.members:,} members and loans built in "
            f"{time.perf_counter() - began:,.0f} s")  # fmt: skip
        note = load_note()
        times, floor, lines = report_in_process(url, args.runs)
        loans_ = sum(f.loans for _, f in lines)
        lines_out.append(f"  look-through, {len(lines):,} organisations, {loans_:,} loans outstanding, in-process: "
                         f"p50 {statistics.median(times):,.0f} ms, p99 {p99(times):,.0f} ms "
                         f"(target < {TARGET_REPORT_MS} ms); [{note}]")  # fmt: skip
        lines_out.append(f"    floor: its SQL replayed on the driver: p50 {statistics.median(floor):,.0f} ms, "
                         f"p99 {p99(floor):,.0f} ms")  # fmt: skip
        note = load_note()
        http = report_over_http(url, token, args.runs)
        lines_out.append(f"  look-through over HTTP (JSON): p50 {statistics.median(http):,.0f} ms, "
                         f"p99 {p99(http):,.0f} ms; [{note}]")  # fmt: skip
        note = load_note()
        seconds, done = cob.timed_close(url)
        raw = cob.raw_writes(url)
        lines_out.append(f"  close of business, {done.loans_processed:,} member loans: {seconds:,.1f} s "
                         f"({done.loans_processed / seconds:,.0f} loans/s, {done.loans_accrued:,} accrued; "
                         f"target < {TARGET_COB_S} s); floor: the same loan writes in raw SQL {raw:,.1f} s; "
                         f"[{note} before, {load_note()} after]")  # fmt: skip
    return lines_out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tiers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--organisations", type=int, default=1000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        lines = measure(kind, args)
        print(f"\n{kind}, three tiers:")
        print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
