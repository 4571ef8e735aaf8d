"""Alembic environment: the database URL comes from the caller (store.engine.migrate) or from
the settings (DATABASE_URL, api.settings); an existing connection passed in `config.attributes` is used as it is."""

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (registers the tables on the metadata)
from api.settings import Settings

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
    url = config.get_main_option("sqlalchemy.url") or Settings.load().database_url
    with create_engine(url).connect() as fresh:
        run_migrations(fresh)
