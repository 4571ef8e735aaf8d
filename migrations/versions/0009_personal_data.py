"""Personal data: the few personal fields of a party, marked as such (Thailand's PDPA).

- `party.national_id`: the 13-digit Thai identification number of a person or of a juristic
  person, when a party's record needs one; the database refuses anything but 13 ASCII digits
  (the check digit is checked by the API). Shown in full to admins only.
- `party.contact`: how to reach the party's contact person (a name, a telephone number).

Both are nullable and empty for every existing party: nothing personal is collected unless a
field asks for it.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

THIRTEEN_DIGITS = {
    "postgresql": "national_id ~ '^[0-9]{13}$'",
    "sqlite": "length(national_id) = 13 AND national_id NOT GLOB '*[^0-9]*'",
}


def upgrade() -> None:
    check = THIRTEEN_DIGITS[op.get_bind().dialect.name]
    op.execute(f"ALTER TABLE party ADD COLUMN national_id VARCHAR(13) CONSTRAINT ck_party_national_id CHECK ({check})")
    op.execute("ALTER TABLE party ADD COLUMN contact VARCHAR(200)")


def downgrade() -> None:
    op.execute("ALTER TABLE party DROP COLUMN contact")
    op.execute("ALTER TABLE party DROP COLUMN national_id")
