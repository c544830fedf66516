"""personal data at rest: sealed columns are text, the outbox is found by a keyed hash

Revision ID: 0007
Revises: 0006

Destinations and personal details are now stored sealed (``adapters/sql/sealed.py``): a
sealed value is longer than the plain one, so the columns that hold them become
``TEXT`` (PostgreSQL enforces ``VARCHAR`` lengths). The outbox gains
``destination_key``, a keyed hash of the destination under ``OTPGATE_LOOKUP_KEY``, and
its listing index uses it instead of the destination.

The keys live outside the database, so this migration cannot seal the rows that exist:
``adapters/sql/reseal.py`` does, on ``otpgate migrate-db``, ``init`` and ``serve`` (until then
readers take a value without the ``og1:`` prefix as plain text, and an outbox message
without a ``destination_key`` is not found by destination).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_WIDENED = (
    ("verification_sessions", "destination", sa.String(length=320), False),
    ("outbox", "destination", sa.String(length=320), False),
    ("sponsor_beneficiaries", "phone", sa.String(length=40), True),
    ("sponsor_beneficiaries", "email", sa.String(length=320), True),
    ("gateway_transactions", "reference", sa.String(length=255), True),
)


def upgrade() -> None:
    for table, column, before, nullable in _WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=before, type_=sa.Text(), existing_nullable=nullable
            )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("destination_key", sa.String(length=64), nullable=True))
        batch_op.drop_index("ix_outbox_tenant_env_dest")
        batch_op.create_index(
            "ix_outbox_tenant_env_dest_key",
            ["tenant_id", "environment", "destination_key", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    # Sealed values do not fit the old columns, nor mean anything to an older release.
    op.execute("DELETE FROM outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_tenant_env_dest_key")
        batch_op.drop_column("destination_key")
        batch_op.create_index(
            "ix_outbox_tenant_env_dest",
            ["tenant_id", "environment", "destination", "created_at"],
            unique=False,
        )
    for table, column, before, nullable in _WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.Text(), type_=before, existing_nullable=nullable
            )
