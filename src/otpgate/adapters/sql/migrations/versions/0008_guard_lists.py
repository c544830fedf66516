"""the abuse guard's allow and block lists, and its stored conversion pauses

Revision ID: 0008
Revises: 0007

``guard_lists`` holds each tenant's allow and block entries (``otpgate guard allow|block``):
a country or a prefix as given, a destination as the keyed fingerprint of its canonical
form (under ``OTPGATE_LOOKUP_KEY``, like the lockout keys) with its masked form beside it.
``guard_pauses`` holds the prefixes and countries whose codes were too rarely entered,
per tenant and environment, until their cool-off ends. Both start empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guard_lists",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "value", "scope"),
    )
    op.create_table(
        "guard_pauses",
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("until", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "environment", "value", "scope"),
    )


def downgrade() -> None:
    op.drop_table("guard_pauses")
    op.drop_table("guard_lists")
