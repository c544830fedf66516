"""Configuration: ``OTPGATE_*`` environment variables, or a ``.env`` file."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from otpgate.core.model import Policy


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

    # Optional: operators who manage secrets themselves set these (base64 or plain text,
    # at least 16 bytes). Otherwise one is generated on first start and kept in the database.
    code_secret: str | None = None
    code_secret_previous: str | None = None

    workflows_file: str | None = None
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

    log_level: str = "info"
    log_json: bool = True

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

    @staticmethod
    def provider_list(raw: str) -> list[str]:
        return [p.strip().lower() for p in raw.split(",") if p.strip()]
