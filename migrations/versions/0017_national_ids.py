"""National ID numbers: one party each, and known where else they travel (Thailand's PDPA).

- `party.known_duplicate`: an admin said this party may share its national ID with another
  (the same juristic person registered twice on purpose, say); the party creation that said
  so is audited. A unique index over `party.national_id`, partial (`WHERE NOT
  known_duplicate`), refuses a second unmarked party with the same number. Parties that
  already share a number are marked, all but the first of each number, so that the index can
  be built; an admin should look at them.
- `idempotency_record.party_id`: the party whose personal data a saved answer holds (a party's
  creation answers the party), so that the party's export and erasure reach the saved answer
  too. Indexed only where set: the rows of every other write (most) cost nothing more.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("party", sa.Column("known_duplicate", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE party SET known_duplicate = true WHERE national_id IS NOT NULL AND id > "
        "(SELECT min(first.id) FROM party first WHERE first.national_id = party.national_id)"
    )
    op.create_index(
        "uq_party_national_id", "party", ["national_id"], unique=True,
        sqlite_where=sa.text("NOT known_duplicate"), postgresql_where=sa.text("NOT known_duplicate"),
    )  # fmt: skip
    op.execute(
        "ALTER TABLE idempotency_record ADD COLUMN party_id INTEGER "
        "CONSTRAINT fk_idempotency_record_party REFERENCES party (id)"
    )
    op.create_index(
        "ix_idempotency_record_party", "idempotency_record", ["party_id"],
        sqlite_where=sa.text("party_id IS NOT NULL"), postgresql_where=sa.text("party_id IS NOT NULL"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_idempotency_record_party", "idempotency_record")
    with op.batch_alter_table("idempotency_record") as table:  # SQLite drops a foreign key's column by a copy
        table.drop_column("party_id")
    op.drop_index("uq_party_national_id", "party")
    op.drop_column("party", "known_duplicate")
