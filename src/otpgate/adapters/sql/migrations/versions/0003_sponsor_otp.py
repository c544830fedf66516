"""sponsor OTP API: sponsors, beneficiaries, otp ids, verification tokens

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sponsors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("otp_operations", sa.JSON(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "slug", name="uq_sponsors_tenant_slug"),
    )
    op.create_table(
        "sponsor_beneficiaries",
        sa.Column("sponsor_id", sa.String(length=36), nullable=False),
        sa.Column("beneficiary_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("phone_country", sa.String(length=2), nullable=True),
        sa.Column("phone_line_type", sa.String(length=24), nullable=True),
        sa.Column("phone_calling_code", sa.String(length=4), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sponsor_id", "beneficiary_id"),
    )
    op.create_table(
        "sponsor_otps",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("sponsor_id", sa.String(length=36), nullable=False),
        sa.Column("beneficiary_id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sponsor_otps", schema=None) as batch_op:
        batch_op.create_index("ix_sponsor_otps_created", ["created_at"], unique=False)

    op.create_table(
        "sponsor_verification_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("otp_id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("sponsor_id", sa.String(length=36), nullable=False),
        sa.Column("beneficiary_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("redeemed_at", sa.Float(), nullable=True),
        sa.Column("operation", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
        sa.UniqueConstraint("otp_id"),
    )
    with op.batch_alter_table("sponsor_verification_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_sponsor_tokens_expires", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sponsor_verification_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_sponsor_tokens_expires")
    op.drop_table("sponsor_verification_tokens")
    with op.batch_alter_table("sponsor_otps", schema=None) as batch_op:
        batch_op.drop_index("ix_sponsor_otps_created")
    op.drop_table("sponsor_otps")
    op.drop_table("sponsor_beneficiaries")
    op.drop_table("sponsors")
