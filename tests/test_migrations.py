"""Migrations go down and up again on both dialects and leave the same guards in place."""

import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

import migrations
from tests.conftest import ON_POSTGRES, _admin_engine, _server_url

TRIGGERS = {
    "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname",
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
}
TABLES = {
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
}


@pytest.fixture
def empty_url(tmp_path) -> str:
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"codi_migrations_{uuid.uuid4().hex[:8]}"
    with _admin_engine().connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(_server_url()).set(database=name).render_as_string(hide_password=False)
    with _admin_engine().connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def migrate(url: str, direction: str, revision: str) -> tuple[list[str], list[str]]:
    """Move the database to `revision`; returns its triggers and tables afterwards."""
    engine = create_engine(url, poolclass=NullPool)
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)
    with engine.connect() as connection:
        dialect = connection.dialect.name
        triggers, tables = (list(connection.execute(text(q[dialect])).scalars()) for q in (TRIGGERS, TABLES))
    engine.dispose()
    return triggers, tables


LOAN_TABLES = {"loan_product", "loan_product_rate", "loan", "loan_schedule", "loan_instalment", "loan_transaction"}


def test_down_to_nothing_and_up_again_gives_the_same_schema(empty_url):
    at_head = migrate(empty_url, "upgrade", "head")
    assert "audit_record_append_only" in at_head[0] or "audit_record_no_update" in at_head[0]
    assert "loan_transaction_append_only" in at_head[0] or "loan_transaction_no_update" in at_head[0]
    before_0004 = migrate(empty_url, "downgrade", "0003")
    assert set(at_head[1]) - set(before_0004[1]) == LOAN_TABLES
    assert not any(name.startswith("loan_") for name in before_0004[0])
    before_0003 = migrate(empty_url, "downgrade", "0002")
    if ON_POSTGRES:
        assert "posting_balanced" in before_0003[0] and "postings_move_balances" not in before_0003[0]
        assert "postings_move_balances" in before_0004[0] and "posting_balanced" not in before_0004[0]
    else:
        assert before_0003 == before_0004  # 0003 changes PostgreSQL only
    triggers, tables = migrate(empty_url, "downgrade", "base")
    assert triggers == [] and tables in ([], ["alembic_version"])
    assert migrate(empty_url, "upgrade", "head") == at_head
