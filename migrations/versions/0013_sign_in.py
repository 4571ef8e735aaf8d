"""People sign in to the pages: a password per user, one-time setup codes, sessions, and each
person's language.

- `user_password`: the argon2 hash of the password a person chose (one row per user, replaced
  when the password changes).
- `setup_code`: a one-time code an admin issues (`codi-ledger user add`), kept as its SHA-256;
  used at most once (`used_at`), before `expires_at`.
- `web_session`: a signed-in browser, kept as the SHA-256 of the random id its cookie holds;
  it ends when `ended_at` is set (sign-out, a password change), after an idle time measured from
  `last_seen_at`, or at `expires_at`, whichever comes first.
- `app_user.language`: `th` or `en`, what the person chose on the pages (NULL: Thai).

The database refuses what it can: a code or session that expires before it was made, a
session seen before it began, a language other than the two, a hash of the wrong length.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC_TIME = sqlmodel.sql.sqltypes.UTCDateTime
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user() -> sa.Column:
    return sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False)


def _hash(name: str) -> list:
    return [sa.Column(name, sa.String(64), nullable=False, unique=True),
            sa.CheckConstraint(f"length({name}) = 64", name=f"ck_{name}_length")]  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "user_password",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), primary_key=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("set_at", UTC_TIME(), nullable=False),
        sa.CheckConstraint("password_hash LIKE '$argon2id$%'", name="ck_user_password_argon2id"),
    )
    op.create_table(
        "setup_code",
        sa.Column("id", Id, primary_key=True),
        _user(),
        *_hash("code_hash"),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.Column("expires_at", UTC_TIME(), nullable=False),
        sa.Column("used_at", UTC_TIME(), nullable=True),
        sa.CheckConstraint("expires_at > created_at", name="ck_setup_code_expiry"),
        sa.CheckConstraint("used_at IS NULL OR used_at >= created_at", name="ck_setup_code_used"),
    )
    op.create_table(
        "web_session",
        sa.Column("id", Id, primary_key=True),
        _user(),
        *_hash("id_hash"),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.Column("last_seen_at", UTC_TIME(), nullable=False),
        sa.Column("expires_at", UTC_TIME(), nullable=False),
        sa.Column("ended_at", UTC_TIME(), nullable=True),
        sa.CheckConstraint("expires_at > created_at", name="ck_web_session_expiry"),
        sa.CheckConstraint("last_seen_at >= created_at", name="ck_web_session_seen"),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= created_at", name="ck_web_session_ended"),
    )
    op.create_index("ix_web_session_user", "web_session", ["user_id"])
    op.create_index("ix_setup_code_user", "setup_code", ["user_id"])
    op.execute("ALTER TABLE app_user ADD COLUMN language VARCHAR(2) "
               "CONSTRAINT ck_user_language CHECK (language IN ('th', 'en'))")  # fmt: skip


def downgrade() -> None:
    op.execute("ALTER TABLE app_user DROP COLUMN language")  # SQLite drops it with its own CHECK
    for table in ("web_session", "setup_code", "user_password"):
        op.drop_table(table)
