"""The small interfaces the core needs from the outside world."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from otpgate.core.model import DeliveryResult, Destination, OutgoingMessage, RateDecision
from otpgate.core.uow import OutboxEntry, TenantRepository


class Limiter(Protocol):
    """Rate counters kept outside the database (Redis), called before a unit of work opens."""

    async def hit(
        self, key: str, limit: int, window_seconds: int, now: float
    ) -> RateDecision | None:
        """Count one event against ``key``; ``None`` when this limiter cannot count right
        now (none is configured, or it is unreachable): the caller then counts in the
        database, inside its unit of work (``uow.counters``)."""
        ...


class NoLimiter:
    """No outside counters: every limit is counted in the database."""

    async def hit(
        self, key: str, limit: int, window_seconds: int, now: float
    ) -> RateDecision | None:
        return None


class Courier(Protocol):
    async def outbox_entry(
        self, message: OutgoingMessage, tenants: TenantRepository
    ) -> OutboxEntry | None:
        """The message as the outbox keeps it, when it goes to the outbox rather than to a
        provider (every sandbox message); the caller adds it in its unit of work.
        ``tenants`` reads the tenant in that same unit of work, if rendering needs it."""
        ...

    async def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        """Hand the message to a provider. Network I/O: never inside a unit of work."""
        ...


class PhoneParser(Protocol):
    def __call__(
        self,
        raw: object,
        field: str = ...,
        default_region: str | None = ...,
        allow_magic: bool = ...,
    ) -> Destination:
        """``raw`` as an E.164 phone destination; ``InvalidInput`` naming ``field``. With
        ``allow_magic`` the sandbox's reserved numbers pass as they are."""
        ...


class EmailParser(Protocol):
    def __call__(self, raw: object, field: str = ...) -> Destination:
        """``raw`` as a normalised email destination; ``InvalidInput`` naming ``field``."""
        ...


@dataclass(frozen=True, slots=True)
class DestinationParsers:
    """What turns typed-in phones and emails into destinations, for a flow that parses
    them itself (the wiring hands in ``otpgate.destinations``)."""

    phone: PhoneParser
    email: EmailParser
