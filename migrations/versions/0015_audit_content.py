"""The audit chain commits to the ledger's content: `audit_record.content` (ledger.audit).

From this revision on every audit record holds the content hashes of the entries it names, and
its hash covers them. Records written before stay as they were: their hashes are recomputed as
before, and nothing is computed for them afterwards, for a hash computed now of an entry written
then would vouch for whatever the entry holds today, tampered or not. Instead, on a database
that holds anything, the upgrade appends one record, the content epoch (`audit.content-epoch`),
that holds the number and digest of every entry recorded until then: from this moment on, a
change to an old entry is found, though not which entry it was, and a change made before this
moment is not (keep a digest of the chain taken before the upgrade to tie the two together).

A downgrade is refused once a record holds content: without the column, those records' hashes
could no longer be recomputed.

Revision ID: 0015
Revises: 0014
"""

import hashlib
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from store import audit_log, entry_content

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_record", sa.Column("content", sa.Text(), nullable=True))
    connection = op.get_bind()
    used = connection.execute(sa.text("SELECT EXISTS (SELECT 1 FROM audit_record) OR EXISTS (SELECT 1 FROM entry)"))
    if used.scalar_one():
        audit_log.append(connection, {
            "recorded_at": datetime.now(UTC).isoformat(), "actor": "migration 0015", "role": "admin",
            "action": "audit.content-epoch", "target": "ledger", "request_id": uuid.uuid4().hex,
            "idempotency_key": None, "request_hash": hashlib.sha256(b"migration 0015").hexdigest(),
            "outcome": "ok", "entry_ids": [], "content": {"ledger": entry_content.ledger_content(connection)},
        })  # fmt: skip


def downgrade() -> None:
    if op.get_bind().execute(sa.text("SELECT 1 FROM audit_record WHERE content IS NOT NULL")).first():
        raise RuntimeError("audit records hold content: they are never removed, and need the column to verify")
    op.drop_column("audit_record", "content")
