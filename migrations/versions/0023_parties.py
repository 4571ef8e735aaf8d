"""Parties as they are: a member belongs to an organisation, and a party has a district.

- `party.kind`: one of the kinds of `ledger.parties` (`ck_party_kind`), `member` among them.
- `party.member_of`: the organisation a member belongs to; a member has one and no other kind
  has one (`ck_party_member_of`); indexed, to list an organisation's members.
- `party_member_of_organisation` (trigger): what `member_of` names is an organisation people
  belong to (savings group, housing cooperative, network, community enterprise, welfare fund),
  and such an organisation keeps an organisation's kind while it has members.
- `party.district`: the district (อำเภอ) in the party's province.
- `app_user.token_revoked_at`: the user's token was revoked (`codi-ledger token revoke`), the
  user not: a person still signs in to the pages; a new token clears it.

SQLite adds a CHECK only with a column (ALTER TABLE cannot add a table constraint), so both
checks come with `member_of` there; PostgreSQL adds them to the table.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

KINDS = ("network", "cooperative", "savings_group", "community_enterprise", "welfare_fund", "incubation_centre",
         "government", "local_authority", "member", "other")  # fmt: skip
ORGANISATIONS = ("savings_group", "cooperative", "network", "community_enterprise", "welfare_fund")
KIND_CHECK = f"kind IN ({', '.join(repr(k) for k in KINDS)})"
MEMBER_CHECK = "(kind = 'member') = (member_of IS NOT NULL)"
ORGANISATION = f"({', '.join(repr(k) for k in ORGANISATIONS)})"
NOT_AN_ORGANISATION = ("a member belongs to a savings group, housing cooperative, network, community enterprise "
                       "or welfare fund")
HAS_MEMBERS = "a party with members keeps a kind that has members"

POSTGRESQL = [
    "ALTER TABLE party ADD COLUMN district VARCHAR(80)",
    "ALTER TABLE party ADD COLUMN member_of INTEGER REFERENCES party (id)",
    f"ALTER TABLE party ADD CONSTRAINT ck_party_kind CHECK ({KIND_CHECK})",
    f"ALTER TABLE party ADD CONSTRAINT ck_party_member_of CHECK ({MEMBER_CHECK})",
    f"""CREATE FUNCTION party_member_of_organisation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.member_of IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM party WHERE id = NEW.member_of AND kind IN {ORGANISATION}) THEN
            RAISE EXCEPTION '{NOT_AN_ORGANISATION}' USING ERRCODE = 'check_violation';
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.kind NOT IN {ORGANISATION}
           AND EXISTS (SELECT 1 FROM party WHERE member_of = NEW.id) THEN
            RAISE EXCEPTION '{HAS_MEMBERS}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER party_member_of_organisation BEFORE INSERT OR UPDATE OF kind, member_of ON party
       FOR EACH ROW EXECUTE FUNCTION party_member_of_organisation()""",
]
SQLITE = [
    "ALTER TABLE party ADD COLUMN district VARCHAR(80)",
    f"""ALTER TABLE party ADD COLUMN member_of INTEGER REFERENCES party (id)
        CONSTRAINT ck_party_member_of CHECK ({MEMBER_CHECK}) CONSTRAINT ck_party_kind CHECK ({KIND_CHECK})""",
    f"""CREATE TRIGGER party_member_of_organisation BEFORE INSERT ON party
        WHEN NEW.member_of IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM party WHERE id = NEW.member_of AND kind IN {ORGANISATION})
        BEGIN SELECT RAISE(ABORT, '{NOT_AN_ORGANISATION}'); END""",
    f"""CREATE TRIGGER party_member_of_organisation_on_update BEFORE UPDATE OF kind, member_of ON party
        WHEN (NEW.member_of IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM party WHERE id = NEW.member_of AND kind IN {ORGANISATION}))
          OR (NEW.kind NOT IN {ORGANISATION} AND EXISTS (SELECT 1 FROM party WHERE member_of = NEW.id))
        BEGIN SELECT RAISE(ABORT, '{NOT_AN_ORGANISATION}; {HAS_MEMBERS}'); END""",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE:
        op.execute(statement)
    op.create_index("ix_party_member_of", "party", ["member_of"])
    op.add_column("app_user", sa.Column("token_revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("app_user", "token_revoked_at")
    op.drop_index("ix_party_member_of", "party")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER party_member_of_organisation ON party")
        op.execute("DROP FUNCTION party_member_of_organisation()")
        op.execute("ALTER TABLE party DROP CONSTRAINT ck_party_member_of")
        op.execute("ALTER TABLE party DROP CONSTRAINT ck_party_kind")
    else:
        op.execute("DROP TRIGGER party_member_of_organisation")
        op.execute("DROP TRIGGER party_member_of_organisation_on_update")
    op.execute("ALTER TABLE party DROP COLUMN member_of")  # and on SQLite the checks it carries
    op.execute("ALTER TABLE party DROP COLUMN district")
