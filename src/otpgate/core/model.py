"""Value types shared by the core and its adapters."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
"""A value as JSON (or YAML) decodes it: what a request's free-form fields hold."""
JsonObject: TypeAlias = "dict[str, JsonValue]"


class Environment(enum.StrEnum):
    SANDBOX = "sandbox"
    PRODUCTION = "production"

    @property
    def display_name(self) -> str:
        return "Sandbox" if self is Environment.SANDBOX else "Production"


@dataclass(frozen=True, slots=True)
class Tenant:
    """An account of otpgate: its name, and how its messages are branded and worded."""

    id: str
    name: str
    brand: str | None = None
    default_locale: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """What one API key can reach: its tenant's objects of its environment, no others."""

    tenant_id: str
    environment: Environment

    def holds(self, tenant_id: str, environment: str) -> bool:
        return tenant_id == self.tenant_id and environment == self.environment


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant and the environment of the key they used."""

    tenant: Tenant
    environment: Environment
    key_id: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new API key, shown to its owner once: only its hash is kept."""

    key: str
    key_id: str
    tenant: Tenant
    environment: Environment


class Channel(enum.StrEnum):
    SMS = "sms"
    VOICE = "voice"
    EMAIL = "email"

    @property
    def needs_phone(self) -> bool:
        return self is not Channel.EMAIL


class DestinationKind(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Destination:
    """A validated, normalised phone number (E.164) or email address."""

    kind: DestinationKind
    value: str
    country: str | None = None
    line_type: str | None = None
    calling_code: str | None = None

    def masked(self) -> str:
        from otpgate.core.masking import mask_destination

        return mask_destination(self)

    def fits(self, channel: Channel) -> bool:
        return (self.kind is DestinationKind.PHONE) == channel.needs_phone


@dataclass(frozen=True, slots=True)
class Policy:
    """How long a code lives, how many guesses it allows, how fast sends may go."""

    ttl_seconds: int = 600
    max_attempts: int = 5
    lockout_seconds: int = 600
    code_length: int = 6
    send_limit_per_minute: int = 5
    verify_limit_per_minute: int = 10

    def __post_init__(self) -> None:
        if not 4 <= self.code_length <= 10:
            raise ValueError("code_length must be between 4 and 10")
        for name in ("ttl_seconds", "max_attempts", "lockout_seconds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if self.send_limit_per_minute < 1 or self.verify_limit_per_minute < 1:
            raise ValueError("rate limits must be positive")


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What one delivery of a code came to, whichever provider carried it."""

    ok: bool
    provider: str
    status_code: int
    provider_message_id: str | None = None
    error: str | None = None
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A code on its way to a person. ``code`` is plain text: never persist this object."""

    tenant_id: str
    session_id: str
    environment: Environment
    channel: Channel
    destination: Destination
    code: str
    expires_at: float
    now: float
    locale: str | None = None
    brand: str | None = None
    default_locale: str | None = None
    message_template: str | None = None

    @property
    def minutes_left(self) -> int:
        return max(1, int((self.expires_at - self.now + 59) // 60))


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after: int = 0
    count: int = 0


@dataclass(frozen=True, slots=True)
class AuditEvent:
    tenant_id: str
    subject_type: str
    subject_id: str
    action: str
    at: float
    detail: dict[str, object] | None = None
