"""Alembic environment: the database URL comes from the caller (store.engine.migrate) or from
DATABASE_URL; an existing connection passed in `config.attributes` is used as it is."""

import os

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (registers the tables on the metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "sqlite:///codi-ledger.db")
    with create_engine(url).connect() as fresh:
        run_migrations(fresh)
