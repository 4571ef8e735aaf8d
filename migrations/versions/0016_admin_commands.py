"""Admin commands (`admin_command`): a change one admin proposes and another approves or rejects
(four eyes on the powers that four eyes rest on: users who can approve, the investment approval
threshold, a welfare fund's administration cap).

- CHECK constraints: the kinds and statuses; the checker is never the maker; an approved or
  rejected command has a checker and a time, a withdrawn one a time and no checker, a pending
  one neither; only an approved command has a target; only an approved user creation has its
  token taken.
- A guard trigger: a command is never removed; what it proposes and who made it never change;
  once decided, its decision never changes; its token is taken once.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TABLE = "admin_command"
KINDS = ("user.create", "investment.settings", "welfare.settings")
STATUSES = ("pending", "approved", "rejected", "withdrawn")
PROPOSAL = ("id", "kind", "payload", "maker_id", "made_at")
DECISION = ("status", "checker_id", "checked_at", "target")
REFUSAL = "admin_command: a command is never removed, and once decided never changed but to take its token once"


def _changed(columns: tuple[str, ...], differs: str) -> str:
    return " OR ".join(f"NEW.{c} {differs} OLD.{c}" for c in columns)


def _forbidden_update(differs: str) -> str:
    """The update the guard refuses, in the dialect's null-safe "differs" operator."""
    return (
        f"{_changed(PROPOSAL, differs)} OR (OLD.status <> 'pending' AND ({_changed(DECISION, differs)})) "
        f"OR (OLD.token_taken_at IS NOT NULL AND NEW.token_taken_at {differs} OLD.token_taken_at)"
    )


POSTGRES_UP = [
    f"""CREATE FUNCTION guard_admin_command() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR {_forbidden_update("IS DISTINCT FROM")} THEN
            RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$""",
    f"""CREATE TRIGGER {TABLE}_guard BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION guard_admin_command()""",
    f"""CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()""",
]
SQLITE_UP = [
    f"""CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} BEGIN
        SELECT RAISE(ABORT, '{REFUSAL}');
    END""",
    f"""CREATE TRIGGER {TABLE}_guard BEFORE UPDATE ON {TABLE} WHEN {_forbidden_update("IS NOT")} BEGIN
        SELECT RAISE(ABORT, '{REFUSAL}');
    END""",
]


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    stamp = sqlmodel.sql.sqltypes.UTCDateTime
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("maker_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("made_at", stamp(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(20), nullable=False),
        sa.Column("checker_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("checked_at", stamp(), nullable=True),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(200), nullable=True),
        sa.Column("token_taken_at", stamp(), nullable=True),
        sa.CheckConstraint(f"kind IN {_in(KINDS)}", name="ck_admin_command_kind"),
        sa.CheckConstraint(f"status IN {_in(STATUSES)}", name="ck_admin_command_status"),
        sa.CheckConstraint("checker_id IS NULL OR checker_id <> maker_id", name="ck_admin_command_four_eyes"),
        sa.CheckConstraint(
            "(status IN ('approved', 'rejected') AND checker_id IS NOT NULL AND checked_at IS NOT NULL) OR "
            "(status = 'withdrawn' AND checker_id IS NULL AND checked_at IS NOT NULL) OR "
            "(status = 'pending' AND checker_id IS NULL AND checked_at IS NULL)",
            name="ck_admin_command_checked",
        ),
        sa.CheckConstraint("(status = 'approved') = (target IS NOT NULL)", name="ck_admin_command_target"),
        sa.CheckConstraint(
            "token_taken_at IS NULL OR (status = 'approved' AND kind = 'user.create')", name="ck_admin_command_token"
        ),
    )
    op.create_index("ix_admin_command_status", TABLE, ["status", "id"])
    for statement in POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().execute(sa.text(f"SELECT count(*) FROM {TABLE}")).scalar_one():
        raise RuntimeError("admin commands were made: the record of who made and who checked them is never removed")
    op.drop_index("ix_admin_command_status", table_name=TABLE)
    op.drop_table(TABLE)  # and its triggers
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION guard_admin_command()")
