"""Configuration: ``OTPGATE_*`` environment variables, or a ``.env`` file."""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from otpgate.core.guard_settings import GuardSettings, TenantBudget
from otpgate.core.model import Policy
from otpgate.flows.evaluation.definitions import WorkflowError, with_aliases
from otpgate.workflow_files import load_catalog


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTPGATE_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/otpgate.db"
    database_pool_size: int = Field(default=10, ge=0, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    redis_url: str | None = None
    # Keys are namespaced, so deployments (or test runs) can share one Redis.
    redis_key_prefix: str = "otpgate:"
    # After a Redis error, count in the database for this long before trying Redis again.
    redis_retry_seconds: float = Field(default=5.0, ge=0.1, le=3600)

    # Housekeeping: personal data of finished sessions is deleted after retention_seconds;
    # every process runs the purge each purge_interval_seconds (0 turns it off).
    retention_seconds: int = Field(default=7 * 86_400, ge=3600)
    purge_interval_seconds: int = Field(default=3600, ge=0)

    otp_ttl_seconds: int = Field(default=600, ge=30, le=86_400)
    otp_max_attempts: int = Field(default=5, ge=1, le=100)
    otp_lockout_seconds: int = Field(default=600, ge=1, le=86_400)
    send_limit_per_minute: int = Field(default=5, ge=1, le=10_000)
    verify_limit_per_minute: int = Field(default=10, ge=1, le=10_000)
    code_length: int = Field(default=6, ge=4, le=10)

    # Secrets never live in the database (README "Secrets", secretfile.py): each comes from
    # its variable, else from the secrets file, which `otpgate init` creates (and `otpgate
    # serve` on SQLite). Base64 or plain text; *_previous accepted during a rotation.
    secrets_file: str = "./var/secrets"
    code_secret: str | None = None
    code_secret_previous: str | None = None
    oauth_signing_key: SecretStr | None = None
    oauth_signing_key_previous: SecretStr | None = None
    # Keys destination fingerprints (limits, lockouts); never rotated.
    lookup_key: SecretStr | None = None
    # Encrypts destinations and personal details at rest (adapters/sql/sealed.py).
    data_key: SecretStr | None = None
    data_key_previous: SecretStr | None = None

    workflows_file: str | None = None
    # Your own workflow ids for a workflow otpgate has: "your_otp_workflow=otp_verification,
    # kyc=individual_onboarding" (README "A first verification").
    workflow_aliases: str = ""
    brand: str = "otpgate"
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    key_cache_seconds: float = Field(default=30.0, ge=0)

    # Sponsor OTP API (the seed document's defaults).
    sponsor_otp_ttl_seconds: int = Field(default=300, ge=30, le=86_400)
    sponsor_otp_max_attempts: int = Field(default=3, ge=1, le=100)
    sponsor_token_ttl_seconds: int = Field(default=600, ge=30, le=86_400)
    sponsor_sends_per_hour: int = Field(default=5, ge=1, le=10_000)
    sponsor_client_requests_per_minute: int = Field(default=50, ge=1, le=100_000)
    oauth_access_token_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)

    sms_providers: str = "outbox"
    voice_providers: str = "outbox"
    email_providers: str = "outbox"
    # Production keys deliver to the outbox (where any production key can read the codes
    # back) only when this is on: for development (`make run` sets it), never on a
    # deployment. Off, "outbox" is left out of the provider lists above for production
    # messages; sandbox messages always go to the outbox.
    production_outbox: bool = False

    # A client that has not sent a request's line and headers within this many seconds is
    # disconnected (slowloris); `otpgate serve` enforces it (header_timeout.py).
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)

    # Real delivery (README "Delivering for real"); `otpgate providers check` validates it.
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65_535)  # 25, 587 or 465 by security
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_from: str | None = None
    smtp_from_name: str | None = None  # default: the tenant's brand
    smtp_ca_file: str | None = None  # a private CA to trust, besides the system's
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_base_url: str = "https://api.twilio.com"
    vonage_api_key: str | None = None
    vonage_api_secret: SecretStr | None = None
    vonage_from: str | None = None
    vonage_base_url: str = "https://rest.nexmo.com"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    delivery_attempts: int = Field(default=3, ge=1, le=10)  # tries per provider
    delivery_backoff_seconds: float = Field(default=0.5, ge=0, le=60)  # doubles each retry
    delivery_retry_budget_seconds: float = Field(default=15.0, ge=0, le=600)  # per provider
    templates_file: str | None = None
    sms_autofill_domain: str | None = None  # adds the WebOTP line "@domain #code"
    # The demo page at / (sandbox only, key held server-side). Turn it off in production.
    demo_enabled: bool = True
    # Starts and PATCHes through the demo page's key-less routes, per client address.
    demo_writes_per_minute: int = Field(default=20, ge=1, le=100_000)

    # The abuse guard (docs/abuse-guard.md). False turns it off entirely, for load tests.
    guard_enabled: bool = True
    guard_refused_line_types: str = "premium_rate,shared_cost,toll_free,pager,voicemail,uan"
    guard_prefix_sends_per_hour: int = Field(default=20, ge=1, le=10_000_000)
    guard_country_sends_per_hour: int = Field(default=500, ge=1, le=10_000_000)
    guard_tenant_sends_per_hour: int = Field(default=1_000, ge=1, le=10_000_000)
    guard_tenant_sends_per_day: int = Field(default=10_000, ge=1, le=100_000_000)
    # Per-tenant budgets: "tenant_id=per_hour/per_day,..." (others get the two above).
    guard_tenant_budgets: str = ""
    guard_ip_sends_per_hour: int = Field(default=30, ge=1, le=10_000_000)
    guard_conversion_window_seconds: int = Field(default=1_800, ge=60, le=86_400)
    guard_conversion_threshold: float = Field(default=0.1, ge=0.0, le=1.0)
    guard_prefix_conversion_min_sends: int = Field(default=20, ge=1, le=10_000_000)
    guard_country_conversion_min_sends: int = Field(default=100, ge=1, le=10_000_000)
    guard_conversion_cooloff_seconds: int = Field(default=3_600, ge=120, le=7 * 86_400)
    guard_failures_per_hour: int = Field(default=10, ge=1, le=10_000)
    guard_failure_lockout_seconds: int = Field(default=3_600, ge=1, le=7 * 86_400)

    log_level: str = "info"
    log_json: bool = True
    # FastAPI's own OpenTelemetry spans, metrics and logs, to the globally configured
    # providers (for instance under `opentelemetry-instrument`). Off, FastAPI skips the
    # per-request check for those providers.
    opentelemetry: bool = False

    @field_validator("database_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v.startswith("postgres://"):
            return "postgresql://" + v[len("postgres://") :]
        return v

    def policy(self) -> Policy:
        return Policy(
            ttl_seconds=self.otp_ttl_seconds,
            max_attempts=self.otp_max_attempts,
            lockout_seconds=self.otp_lockout_seconds,
            code_length=self.code_length,
            send_limit_per_minute=self.send_limit_per_minute,
            verify_limit_per_minute=self.verify_limit_per_minute,
        )

    @field_validator("guard_tenant_budgets")
    @classmethod
    def _budgets(cls, v: str) -> str:
        cls.tenant_budgets(v)
        return v

    @field_validator("workflow_aliases")
    @classmethod
    def _aliases(cls, v: str) -> str:
        cls.workflow_alias_map(v)
        return v

    @staticmethod
    def workflow_alias_map(raw: str) -> dict[str, str]:
        """``"mine=otp_verification, kyc=individual_onboarding"`` as {alias: workflow}."""
        aliases: dict[str, str] = {}
        for item in (part.strip() for part in raw.split(",")):
            if not item:
                continue
            alias, sep, target = (s.strip() for s in item.partition("="))
            if not sep or not alias or not target or len(alias) > 120:
                raise ValueError(f"{item!r} is not your_workflow_id=otpgate_workflow")
            if alias in aliases:
                raise ValueError(f"{alias!r} is given twice")
            aliases[alias] = target
        return aliases

    @model_validator(mode="after")
    def _guard_consistent(self) -> Settings:
        self.guard()  # contradicting thresholds fail when the settings load, not later
        return self

    @model_validator(mode="after")
    def _aliases_known(self) -> Settings:
        aliases = self.workflow_alias_map(self.workflow_aliases)
        if aliases:  # an alias of a workflow nobody defined fails at start, not per request
            try:
                with_aliases(load_catalog(self.workflows_file), aliases)
            except (WorkflowError, OSError) as exc:
                raise ValueError(f"workflow_aliases: {exc}") from None
        return self

    @staticmethod
    def tenant_budgets(raw: str) -> dict[str, TenantBudget]:
        """``"t1=5000/50000, t2=10/100"`` as budgets; ValueError naming the bad entry."""
        budgets: dict[str, TenantBudget] = {}
        for item in (part.strip() for part in raw.split(",")):
            if not item:
                continue
            tenant, _, numbers = item.partition("=")
            hourly, _, daily = numbers.partition("/")
            try:
                budget = TenantBudget(int(hourly), int(daily))
            except ValueError:
                raise ValueError(f"{item!r} is not tenant_id=per_hour/per_day") from None
            if not tenant.strip() or budget.per_hour < 1 or budget.per_day < 1:
                raise ValueError(f"{item!r} is not tenant_id=per_hour/per_day, both positive")
            budgets[tenant.strip()] = budget
        return budgets

    def guard(self) -> GuardSettings:
        """The abuse guard's thresholds (raises ValueError when they contradict each other)."""
        return GuardSettings(
            enabled=self.guard_enabled,
            refused_line_types=frozenset(self.provider_list(self.guard_refused_line_types)),
            prefix_sends_per_hour=self.guard_prefix_sends_per_hour,
            country_sends_per_hour=self.guard_country_sends_per_hour,
            tenant_sends_per_hour=self.guard_tenant_sends_per_hour,
            tenant_sends_per_day=self.guard_tenant_sends_per_day,
            ip_sends_per_hour=self.guard_ip_sends_per_hour,
            tenant_budgets=MappingProxyType(self.tenant_budgets(self.guard_tenant_budgets)),
            conversion_window_seconds=self.guard_conversion_window_seconds,
            conversion_threshold=self.guard_conversion_threshold,
            prefix_conversion_min_sends=self.guard_prefix_conversion_min_sends,
            country_conversion_min_sends=self.guard_country_conversion_min_sends,
            conversion_cooloff_seconds=self.guard_conversion_cooloff_seconds,
            failures_per_hour=self.guard_failures_per_hour,
            failure_lockout_seconds=self.guard_failure_lockout_seconds,
        )

    @staticmethod
    def provider_list(raw: str) -> list[str]:
        return [p.strip().lower() for p in raw.split(",") if p.strip()]
