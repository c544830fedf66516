"""environments are a wall: sponsors, beneficiaries, outbox messages and gateway
transactions carry the environment of the key that made them

Revision ID: 0006
Revises: 0005

Every object an API key can reach now says which environment it belongs to, and every
read and write is scoped by tenant *and* environment (evaluations, sessions, sponsor otp
ids and verification tokens carried it already). A sponsor's slug is unique per tenant
and environment, so the same sponsor can be set up once in each.

Backfill of the rows that exist (none of them recorded the key that made them):

- ``gateway_transactions``: the environment of the verification session it belongs to,
  which has always been recorded; ``production`` if that session was already purged.
- ``sponsors`` and ``sponsor_beneficiaries``: ``production``. Before this migration any
  key could manage them and production sends used them, so a deployment with real
  traffic keeps working unchanged. The other choices were worse: ``sandbox`` would make
  every production send answer "sponsor not found" after the upgrade, and a copy in each
  environment would hand production phone numbers and emails to sandbox keys (a sandbox
  send of the copy puts the real destination in the sandbox outbox). A sponsor that was
  meant for sandbox is set up again with a sandbox key (``PUT /v1/admin/sponsors/…``) or
  ``otpgate sponsors create --environment sandbox``.
- ``outbox``: ``production``. The outbox never recorded which key a message was sent
  for; marking them all production keeps every existing message (which may hold a
  production code) out of sandbox keys' reach. Sandbox keys see the messages sent after
  the upgrade; the purge removes the old ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TABLES = ("sponsors", "sponsor_beneficiaries", "outbox", "gateway_transactions")


def _add(table: str) -> None:
    op.add_column(table, sa.Column("environment", sa.String(length=16), nullable=True))


def _require(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column("environment", existing_type=sa.String(length=16), nullable=False)


def upgrade() -> None:
    for table in _TABLES:
        _add(table)
    op.execute(
        "UPDATE gateway_transactions SET environment = COALESCE((SELECT s.environment"
        " FROM verification_sessions s WHERE s.id = gateway_transactions.session_id),"
        " 'production')"
    )
    for table in ("sponsors", "sponsor_beneficiaries", "outbox"):
        op.execute(f"UPDATE {table} SET environment = 'production'")  # noqa: S608
    for table in _TABLES:
        _require(table)
    with op.batch_alter_table("sponsors", schema=None) as batch_op:
        batch_op.drop_constraint("uq_sponsors_tenant_slug", type_="unique")
        batch_op.create_unique_constraint(
            "uq_sponsors_tenant_env_slug", ["tenant_id", "environment", "slug"]
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_tenant_dest")
        batch_op.create_index(
            "ix_outbox_tenant_env_dest",
            ["tenant_id", "environment", "destination", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_tenant_env_dest")
        batch_op.create_index(
            "ix_outbox_tenant_dest", ["tenant_id", "destination", "created_at"], unique=False
        )
    # Slugs may now repeat across environments: keep the production sponsor of each pair.
    op.execute(
        "DELETE FROM sponsor_beneficiaries WHERE environment <> 'production' AND sponsor_id IN"
        " (SELECT s.id FROM sponsors s WHERE EXISTS (SELECT 1 FROM sponsors p"
        " WHERE p.tenant_id = s.tenant_id AND p.slug = s.slug AND p.id <> s.id"
        " AND p.environment = 'production'))"
    )
    op.execute(
        "DELETE FROM sponsors WHERE environment <> 'production' AND EXISTS (SELECT 1"
        " FROM sponsors p WHERE p.tenant_id = sponsors.tenant_id AND p.slug = sponsors.slug"
        " AND p.id <> sponsors.id AND p.environment = 'production')"
    )
    with op.batch_alter_table("sponsors", schema=None) as batch_op:
        batch_op.drop_constraint("uq_sponsors_tenant_env_slug", type_="unique")
        batch_op.create_unique_constraint("uq_sponsors_tenant_slug", ["tenant_id", "slug"])
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("environment")
