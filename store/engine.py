"""The database: engines for reading and writing, and migrations to head.

SQLite (the embedded default) runs in WAL mode with foreign keys on; a writing transaction
starts with BEGIN IMMEDIATE so that writers queue for the one write lock instead of failing
half-way. PostgreSQL writes at READ COMMITTED with explicit row locks and reads at REPEATABLE
READ, so a report that takes several queries sees one state.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event

import migrations

DEFAULT_URL = "sqlite:///codi-ledger.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class Database:
    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        if self.dialect == "sqlite":
            self._writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE")
            self._reader = _sqlite_engine(url, begin="BEGIN")
        else:
            self._writer = create_engine(url, pool_size=20, max_overflow=10, pool_pre_ping=True)
            self._reader = self._writer.execution_options(isolation_level="REPEATABLE READ")

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One writing transaction: committed when the block ends, rolled back if it raises."""
        with self._writer.begin() as connection:
            yield connection

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
        self._writer.dispose()
        self._reader.dispose()


def _sqlite_engine(url: str, *, begin: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

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
