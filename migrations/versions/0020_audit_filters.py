"""The audit trail filtered by the person who acted, or by the action: an index on each, with
the sequence number after it, so that a page of one person's records, latest first, reads that
person's records only and not the chain from its head down.

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_record_actor", "audit_record", ["actor", "seq"])
    op.create_index("ix_audit_record_action", "audit_record", ["action", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_record_action", "audit_record")
    op.drop_index("ix_audit_record_actor", "audit_record")
