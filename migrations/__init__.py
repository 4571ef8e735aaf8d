"""Alembic migrations: the only way the schema changes. Triggers that guard invariants live here."""
