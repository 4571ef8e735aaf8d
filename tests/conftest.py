"""Fixtures: a freshly migrated database per test (a copy of a template migrated once per run),
on SQLite, or on PostgreSQL when CODI_TEST_DB=postgres and TEST_DATABASE_URL names a server."""

import contextlib
import itertools
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from api.app import create_app
from api.context import Clock
from ledger.errors import LedgerError, Rejection
from store import books, users
from store.demo import Demo, load_demo
from store.engine import Database

ON_POSTGRES = os.environ.get("CODI_TEST_DB") == "postgres"
NOW = datetime(2024, 6, 14, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok, FY2567
_counter = itertools.count()

# `make test` runs the SQLite and PostgreSQL suites side by side: an example's speed says nothing
# about its correctness, so no property fails for being slow on a busy machine.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


class FixedClock(Clock):
    def __init__(self, now: datetime = NOW) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


def _server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.fail("CODI_TEST_DB=postgres needs TEST_DATABASE_URL")
    return url


def _admin_engine():
    return create_engine(_server_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)


TABLES = ("remittance", "web_session", "setup_code", "user_password", "loan_month",
          "welfare_codi_leg", "welfare_advance_refund", "welfare_settlement_reversal",
          "welfare_allocation", "welfare_sale_reversal", "welfare_settlement", "welfare_sale", "welfare_matching",
          "welfare_member_contribution", "welfare_benefit", "welfare_admin_cost", "welfare_fund_setting",
          "contribution_rule",
          "investment_purchase", "investment_event", "investment", "investment_setting", "distribution_payment",
          "distribution_part", "distribution", "distribution_policy", "register_event", "share_class",
          "year_end_reversal", "year_end_balance", "year_end_entry", "year_end_close", "party_programme",
          "audit_record", "audit_head", "idempotency_record", "loan_litigation_event", "loan_write_off_undo",
          "loan_charge_off_undo", "loan_charge_off", "loan_repayment_undo", "loan_repayment_reversal",
          "loan_transaction", "loan_instalment", "loan_schedule", "loan", "loan_product_rate", "loan_product",
          "posting", "entry", "account_month", "account_balance", "account", "period_close", "app_user", "book",
          "party", "admin_command", "close_of_business_day")  # fmt: skip


class Databases:
    """Makes fresh migrated databases: on SQLite a copy of a template file migrated once; on
    PostgreSQL one database migrated once and emptied before each test (creating a database
    per test costs seconds). Emptying goes around the append-only triggers with
    session_replication_role, which only a superuser may set, puts every sequence back to its
    start, and turns back on any trigger a tamper test switched off."""

    def __init__(self, workdir) -> None:
        self.workdir = workdir
        self._demo: Demo | None = None
        if ON_POSTGRES:
            self.name = f"codi_test_{uuid.uuid4().hex[:8]}"
            with _admin_engine().connect() as c:
                c.execute(text(f"CREATE DATABASE {self.name}"))
            self.url = make_url(_server_url()).set(database=self.name).render_as_string(hide_password=False)
            self._migrate(self.url)
        else:
            self.template = str(workdir / "template.db")
            self._migrate(f"sqlite:///{self.template}")

    @staticmethod
    def _migrate(url: str) -> None:
        database = Database(url)
        database.migrate()
        database.dispose()

    def fresh(self) -> tuple[Database, callable]:
        if ON_POSTGRES:
            self._empty_postgres()
            database = Database(self.url)
            return database, database.dispose
        path = self.workdir / f"t{next(_counter)}.db"
        shutil.copy(self.template, path)
        database = Database(f"sqlite:///{path}")
        return database, database.dispose

    def _empty_postgres(self) -> None:
        # DELETE, not TRUNCATE: a test leaves a few rows in a few tables, and truncating seventy
        # tables gives each new files to sync, over a second a test.
        engine = create_engine(self.url, poolclass=NullPool)
        with engine.begin() as c:
            c.execute(text("SET LOCAL session_replication_role = replica"))
            for table in TABLES:
                c.execute(text(f"DELETE FROM {table}"))
            c.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
            c.execute(text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)"
                " FROM pg_sequences WHERE last_value IS NOT NULL"
            ))  # fmt: skip
            switched_off = c.execute(text(
                "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE tgenabled = 'D'"
            )).scalars()  # fmt: skip
            for table in list(switched_off):
                c.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER ALL"))
        engine.dispose()

    def with_demo(self, database: Database) -> Demo:
        """Load the demo into a fresh `database`: loaded once per run, then copied in, for the
        demo takes seconds to build and hundreds of tests read it. The copy is the whole database,
        rows, sequences and audit chain, so a test cannot tell it from a demo it loaded itself.
        A database some fixture wrote to first gets the demo loaded the slow way, over its rows."""
        if not _is_empty(database):
            return load_demo(database, now=NOW)
        if self._demo is None:
            self._demo = load_demo(database, now=NOW)
            self._demo_copy = _PostgresCopy(database) if ON_POSTGRES else _SqliteCopy(database, self.workdir)
        else:
            self._demo_copy.restore(database)
        return self._demo

    def close(self) -> None:
        if ON_POSTGRES:
            with _admin_engine().connect() as c:
                c.execute(text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))


def _is_empty(database: Database) -> bool:
    with database.read() as c:
        written = "SELECT EXISTS (SELECT 1 FROM app_user) OR EXISTS (SELECT 1 FROM party)"
        return not c.execute(text(written)).scalar()


class _SqliteCopy:
    """A database file copied page by page with SQLite's online backup, which is safe under the
    target's open (WAL) connections."""

    def __init__(self, database: Database, workdir) -> None:
        self.path = str(workdir / "demo.db")
        with contextlib.closing(sqlite3.connect(self.path)) as copy, _driver_connection(database) as source:
            source.backup(copy)

    def restore(self, database: Database) -> None:
        with contextlib.closing(sqlite3.connect(self.path)) as copy, _driver_connection(database) as target:
            copy.backup(target)


@contextlib.contextmanager
def _driver_connection(database: Database):
    pooled = database.writer_engine.raw_connection()
    try:
        yield pooled.driver_connection
    finally:
        pooled.close()


class _PostgresCopy:
    """Every table's rows and every sequence's position, written back into an emptied database
    with the triggers off (as `Databases._empty_postgres` empties it)."""

    def __init__(self, database: Database) -> None:
        self.tables = MetaData()
        self.tables.reflect(database.writer_engine, only=TABLES)
        with database.read() as c:
            self.rows = {t: [dict(r._mapping) for r in c.execute(self.tables.tables[t].select())] for t in TABLES}
            self.sequences = c.execute(text(
                "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences WHERE last_value IS NOT NULL"
            )).all()  # fmt: skip

    def restore(self, database: Database) -> None:
        with database.write() as c:
            c.execute(text("SET LOCAL session_replication_role = replica"))
            c.execute(text("DELETE FROM audit_head"))
            for name in reversed(TABLES):  # parents first
                if self.rows[name]:
                    c.execute(self.tables.tables[name].insert(), self.rows[name])
            for sequence, value in self.sequences:
                c.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": value})


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[Databases]:
    made = Databases(tmp_path_factory.mktemp("db"))
    yield made
    made.close()


@pytest.fixture
def db(databases) -> Iterator[Database]:
    database, drop = databases.fresh()
    yield database
    drop()


def make_user(db: Database, name: str, role: str, party_id: int | None = None) -> str:
    with db.write() as connection:
        return users.add_user(connection, name=name, role=role, party_id=party_id, now=NOW)[1]


def attempt(db: Database, write, *expected: Rejection):
    """Run `write(connection)` in a transaction of its own and return what it returns; a refusal
    must be one of `expected`, and then the answer is None."""
    try:
        with db.write() as connection:
            return write(connection)
    except LedgerError as error:
        assert error.reason in expected, error
        return None


NO_KEY = ""  # `Api.post(..., key=NO_KEY)` sends no Idempotency-Key at all


class Api:
    """A client of the real app, speaking as one token."""

    def __init__(self, client: TestClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def as_(self, token: str | None) -> "Api":
        return Api(self.client, token)

    def headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path: str, **params):
        return self.client.get(path, params=params, headers=self.headers())

    def post(self, path: str, body: dict, key: str | None = None):
        """POST `body` under `key`; without one, under a fresh key (a create needs a key, and a
        test's post means one write); `key=NO_KEY` sends none."""
        return self.client.post(path, json=body, headers=self.headers(uuid.uuid4().hex if key is None else key))

    def entry(
        self, book_id: int, lines: list[tuple[int, str]], *, day: str = "2024-06-01", key: str | None = None, **extra
    ):
        body = {"book_id": book_id, "effective_date": day, "description": "test entry",
                "postings": [{"account_id": a, "amount": amount} for a, amount in lines], **extra}  # fmt: skip
        return self.post("/v1/entries", body, key or uuid.uuid4().hex)


@pytest.fixture
def demo(databases, db) -> Demo:
    """The demo (store.demo) loaded on the test clock's day: what the pages' tests read."""
    return databases.with_demo(db)


@pytest.fixture
def app(db, clock, demo):
    """The app over the demo, what the pages' tests sign in to (a module wanting another defines its own)."""
    return create_app(db, clock)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def api(db, clock) -> Iterator[Api]:
    with TestClient(create_app(db, clock), raise_server_exceptions=False) as client:
        yield Api(client, make_user(db, "admin", "admin"))


@pytest.fixture
def checker(api, db) -> Api:
    """A second admin, who checks the admin commands that the first (`api`) makes."""
    return api.as_(make_user(db, "checker", "admin"))


def approved(checker: Api, proposed) -> dict:
    """The admin command that `proposed` (its 202 answer) made, approved by `checker`."""
    assert proposed.status_code == 202, proposed.text
    approval = checker.post(f"{proposed.json()['href']}/approval", {})
    assert approval.status_code == 200, approval.text
    return approval.json()


@pytest.fixture
def fund(db) -> dict:
    """A fund book with its standard chart: codes -> account ids, and a borrower party."""
    with db.write() as connection:
        borrower = books.create_party(connection, {"kind": "cooperative", "name_th": "สหกรณ์ทดสอบ"}, now=NOW)
        book = books.create_book(connection, {"code": "FUND", "kind": "fund", "name_th": "กองทุน"}, now=NOW)
        codes = {a["code"]: a["id"] for a in books.book_accounts(connection, book["id"])}
        loan = books.create_account(connection, {
            "book_id": book["id"], "code": "1200-01", "name_th": "ลูกหนี้", "type": "asset",
            "balance_rule": "debit_or_zero", "parent_id": codes["1200"], "party_id": borrower["id"],
        }, now=NOW)  # fmt: skip
    return {"book_id": book["id"], "borrower_id": borrower["id"], **codes, "loan": loan["id"]}


def day(text_: str) -> date:
    return date.fromisoformat(text_)
