"""The small interfaces the core needs from the outside world."""

from __future__ import annotations

from typing import Protocol

from otpgate.core.model import AuditEvent, DeliveryResult, OutgoingMessage, RateDecision
from otpgate.core.session import SessionState, VerificationSession


class SessionStore(Protocol):
    async def create_session(self, session: VerificationSession) -> None: ...

    async def get_session(self, tenant_id: str, session_id: str) -> VerificationSession | None:
        """The session if it belongs to ``tenant_id``; otherwise ``None``."""
        ...

    async def claim_attempt(self, session_id: str, now: float) -> int | None:
        """Atomically count one attempt on an open session and return the new count.

        Counts only while the session is pending, unexpired and below its
        ``max_attempts``; returns ``None`` (counting nothing) otherwise.
        """
        ...

    async def transition(
        self, session_id: str, source: SessionState, target: SessionState, now: float
    ) -> bool:
        """Move the session from ``source`` to ``target``; ``False`` if it was not in ``source``."""
        ...

    async def count_send(self, session_id: str) -> None: ...


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int, now: float) -> RateDecision:
        """Count one event against ``key``; refuse it once ``limit`` are in the window."""
        ...

    async def lock(self, key: str, until: float) -> None: ...

    async def locked_until(self, key: str, now: float) -> float | None: ...


class Courier(Protocol):
    async def deliver(self, message: OutgoingMessage) -> DeliveryResult: ...


class AuditLog(Protocol):
    async def record(self, event: AuditEvent) -> None: ...


class DeliveryLog(Protocol):
    async def record_delivery(
        self, session: VerificationSession, result: DeliveryResult, at: float
    ) -> None: ...
