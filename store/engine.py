"""The database: engines for reading and writing, and migrations to head.

SQLite (the embedded default) runs in WAL mode with foreign keys on; a writing transaction
starts with BEGIN IMMEDIATE so that writers queue for the one write lock instead of failing
half-way, and the threads of one process take turns before they even ask SQLite (its busy
handler sleeps in steps of milliseconds, a lock does not). PostgreSQL writes at READ COMMITTED with
explicit row locks and reads at REPEATABLE READ, so a report that takes several queries sees one
state. The service's writes go through `run_write`, which commits them in groups
(store.group_commit).
"""

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event

import migrations
from store.group_commit import GroupCommit

DEFAULT_URL = "sqlite:///codi-ledger.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


class Database:
    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        if self.dialect == "sqlite":
            self._writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE")
            self._reader = _sqlite_engine(url, begin="BEGIN")
            self._write_turn = threading.Lock()
        else:
            # The driver would prepare a statement it has run five times, and a plan fixed while the
            # ledger was small (a sequential scan of a then-empty table) would outlive the table's
            # growth: unprepared, each statement is planned with its parameters. The server's own
            # plans (foreign keys, triggers) keep their cached generic plans: forcing custom plans
            # session-wide planned each foreign-key check again, four times its cost.
            custom_plans = {"prepare_threshold": None}
            self._writer = create_engine(
                url, pool_size=20, max_overflow=10, pool_pre_ping=True, connect_args=custom_plans
            )
            # An engine of its own, so each connection is set to REPEATABLE READ once, when it is
            # opened, rather than set and reset around every request.
            self._reader = create_engine(
                url, pool_size=20, max_overflow=10, pool_pre_ping=True, connect_args=custom_plans,
                isolation_level="REPEATABLE READ",
            )  # fmt: skip
            self._write_turn = contextlib.nullcontext()
        self._group_commit = GroupCommit(self.write)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One writing transaction: committed when the block ends, rolled back if it raises."""
        with self._write_turn, self._writer.begin() as connection:
            yield connection

    def run_write(self, write: Callable[[Connection], T]) -> T:
        """Run `write` in a transaction shared with other threads' writes (group commit)."""
        return self._group_commit.run(write)

    def submit_write(self, write) -> Future:
        """Queue `write` (a function of the connection, or a `Batchable`) for group commit."""
        return self._group_commit.submit(write)

    @property
    def group_commit(self) -> GroupCommit:
        return self._group_commit

    @property
    def writer_engine(self) -> Engine:
        return self._writer

    @property
    def reader_engine(self) -> Engine:
        return self._reader

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._reader.connect() as connection, connection.begin():
            yield connection

    def migrate(self) -> None:
        """Bring the database to the newest schema (Alembic head)."""
        config = Config()
        config.set_main_option("script_location", str(Path(migrations.__file__).parent))
        with self._writer.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self._group_commit.close()
        self._writer.dispose()
        self._reader.dispose()


def _sqlite_engine(url: str, *, begin: str) -> Engine:
    # As many pooled connections as PostgreSQL's: concurrent requests beyond the pool would each
    # open a connection and configure it, then close it.
    engine = create_engine(url, pool_size=20, max_overflow=10, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql(begin)

    return engine
