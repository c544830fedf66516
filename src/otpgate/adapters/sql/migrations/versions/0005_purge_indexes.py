"""indexes for housekeeping: purging expired lockouts

Revision ID: 0005
Revises: 0003

The purge deletes by time. Every table it touches already has an index on the
column it filters on (created_at / started_at / expires_at, enrichments by
evaluation_id) except ``lockouts.until``.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_lockouts_until", "lockouts", ["until"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lockouts_until", table_name="lockouts")
