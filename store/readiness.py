"""Whether the database can serve: it answers, its schema is at the newest migration, and the
guards the migrations create (store.integrity) are all in place. `/ready` asks it."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import migrations
from store.engine import Database
from store.integrity import guard_problems


@dataclass(frozen=True)
class NotReady:
    reason: str  # database_unavailable, schema_not_current, guards_missing
    detail: str


@cache
def newest_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return ScriptDirectory.from_config(config).get_current_head()


def not_ready(db: Database) -> NotReady | None:
    """Why the database cannot serve, or None when it can."""
    try:
        with db.read() as connection:
            connection.execute(text("SELECT 1"))
            revisions = _revisions(connection)
            problems = guard_problems(connection) if revisions == [newest_revision()] else []
    except SQLAlchemyError as error:
        cause = type(getattr(error, "orig", None) or error).__name__
        return NotReady("database_unavailable", f"the database does not answer ({cause})")
    if revisions != [newest_revision()]:
        found = ", ".join(revisions) or "none"
        return NotReady("schema_not_current", f"schema at {found}, newest {newest_revision()}: run codi-ledger migrate")
    if problems:
        return NotReady("guards_missing", "; ".join(problems))
    return None


def _revisions(connection) -> list[str]:
    try:
        with connection.begin_nested():
            return [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
    except SQLAlchemyError:  # no table: never migrated
        return []
