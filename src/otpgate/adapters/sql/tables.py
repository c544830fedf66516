"""The schema, as SQLAlchemy Core tables. Alembic migrations create exactly this."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("brand", String(120), nullable=True),
    Column("default_locale", String(16), nullable=True),
    Column("created_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(24), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    Index("ix_api_keys_tenant", "tenant_id"),
)

app_secrets = Table(
    "app_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

sessions = Table(
    "verification_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("destination_kind", String(8), nullable=False),
    Column("destination", Text, nullable=False),  # sealed (adapters/sql/sealed.py)
    Column("destination_country", String(2), nullable=True),
    Column("destination_line_type", String(24), nullable=True),
    Column("destination_calling_code", String(4), nullable=True),
    Column("destination_key", String(80), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("code_length", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("sends", Integer, nullable=False, default=0),
    Column("locale", String(16), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("closed_at", Float, nullable=True),
    Index("ix_sessions_created", "created_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), nullable=False),
    Column("session_id", String(36), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("ok", Integer, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("provider_message_id", String(128), nullable=True),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=1),
    Column("created_at", Float, nullable=False),
    Index("ix_deliveries_session", "session_id"),
    Index("ix_deliveries_created", "created_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("destination", Text, nullable=False),  # destination, subject, body: sealed
    Column("subject", Text, nullable=True),
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("environment", String(16), nullable=False),
    Column("destination_key", String(64), nullable=True),  # keyed hash (migration 0007)
    Index(
        "ix_outbox_tenant_env_dest_key",
        "tenant_id",
        "environment",
        "destination_key",
        "created_at",
    ),
    Index("ix_outbox_created", "created_at"),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("workflow", String(120), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("sub_status", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("eval_status", String(32), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("review_queues", JSON, nullable=False),
    Column("session_id", String(36), nullable=True),
    Column("channel", String(8), nullable=True),
    Column("individual", JSON, nullable=True),  # sealed, as a JSON string
    Column("version", Integer, nullable=False, default=1),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float, nullable=False),
    Column("decision_at", Float, nullable=True),
    Column("notes", Text, nullable=True),  # a reviewer's, sealed
    UniqueConstraint("tenant_id", "client_id", name="uq_evaluations_client_id"),
    Index("ix_evaluations_started", "started_at"),
)

enrichments = Table(
    "evaluation_enrichments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("evaluation_id", String(36), nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_enrichments_evaluation", "evaluation_id", "id"),
)

idempotency = Table(
    "idempotency_records",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("scope", String(80), primary_key=True),
    Column("request_id", String(255), primary_key=True),
    Column("status_code", Integer, nullable=True),
    Column("body", JSON, nullable=True),  # sealed, as a JSON string
    Column("created_at", Float, nullable=False),
    Index("ix_idempotency_created", "created_at"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), nullable=False),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ix_audit_subject", "subject_id"),
    Index("ix_audit_created", "created_at"),
)

rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("window", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_rate_counters_expires", "expires_at"),
)

lockouts = Table(
    "lockouts",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("until", Float, nullable=False),
)

# -- PhoneMatch gateway (api/gateway): its tokens map to a tenant and a core session --------

gateway_transactions = Table(
    "gateway_transactions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("session_id", String(36), nullable=False),
    Column("service", String(40), nullable=False),
    Column("reference", Text, nullable=True),  # sealed
    Column("user_name", String(120), nullable=False),
    Column("company", String(120), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("final_token_hash", String(64), nullable=True, unique=True),
    Column("state", String(16), nullable=False),
    Column("outcome", String(24), nullable=True),
    Column("confirmation", BigInteger, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Column("environment", String(16), nullable=False),
    Index("ix_gateway_transactions_created", "created_at"),
)

# -- Sponsor OTP API (sponsors, beneficiaries, otp ids, verification tokens) ---------------

sponsors = Table(
    "sponsors",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("channels", JSON, nullable=False),
    Column("otp_operations", JSON, nullable=False),
    Column("active", Integer, nullable=False, default=1),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("environment", String(16), nullable=False),
    UniqueConstraint("tenant_id", "environment", "slug", name="uq_sponsors_tenant_env_slug"),
)

beneficiaries = Table(
    "sponsor_beneficiaries",
    metadata,
    Column("sponsor_id", String(36), primary_key=True),
    Column("beneficiary_id", String(64), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("phone", Text, nullable=True),  # phone and email: sealed
    Column("phone_country", String(2), nullable=True),
    Column("phone_line_type", String(24), nullable=True),
    Column("phone_calling_code", String(4), nullable=True),
    Column("email", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("environment", String(16), nullable=False),
)

sponsor_otps = Table(
    "sponsor_otps",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(36), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("sponsor_id", String(36), nullable=False),
    Column("beneficiary_id", String(64), nullable=False),
    Column("session_id", String(36), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_sponsor_otps_created", "created_at"),
)

verification_tokens = Table(
    "sponsor_verification_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("otp_id", String(40), nullable=False, unique=True),
    Column("tenant_id", String(36), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("sponsor_id", String(36), nullable=False),
    Column("beneficiary_id", String(64), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("redeemed_at", Float, nullable=True),
    Column("operation", String(120), nullable=True),
    Index("ix_sponsor_tokens_expires", "expires_at"),
)
# -- The abuse guard's lists and pauses (migration 0008) -------------------------------------

guard_lists = Table(
    "guard_lists",
    metadata,
    # The key puts value before scope: a send reads its destination's fingerprint, its
    # country and its prefixes as one range of the primary key (tenant_id, value IN …).
    Column("tenant_id", String(36), primary_key=True),
    Column("value", String(64), primary_key=True),  # a country, a prefix, a fingerprint
    Column("scope", String(16), primary_key=True),
    Column("verdict", String(8), nullable=False),
    Column("label", String(64), nullable=False),  # as typed; a destination masked
    Column("created_at", Float, nullable=False),
)

guard_pauses = Table(
    "guard_pauses",
    metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("environment", String(16), primary_key=True),
    Column("value", String(64), primary_key=True),  # a prefix (+44790012) or a country
    Column("scope", String(16), primary_key=True),
    Column("until", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)

# Housekeeping (scale-out, migration 0005): the purge deletes expired lockouts by deadline.
Index("ix_lockouts_until", lockouts.c.until)
