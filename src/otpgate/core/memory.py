"""In-memory adapters: the fakes the tests use, shipped with the package.

They honour the same contracts as the SQL and Redis adapters (the store
contract suite runs against all of them), so a test of the core with these
fakes says something true about production.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace

from otpgate.core.model import AuditEvent, DeliveryResult, OutgoingMessage, RateDecision
from otpgate.core.session import SessionState, VerificationSession


class InMemoryStore:
    def __init__(self) -> None:
        self.sessions: dict[str, VerificationSession] = {}
        self.events: list[AuditEvent] = []
        self.deliveries: list[tuple[str, DeliveryResult]] = []
        self._lock = asyncio.Lock()

    async def create_session(self, session: VerificationSession) -> None:
        self.sessions[session.id] = session

    async def get_session(self, tenant_id: str, session_id: str) -> VerificationSession | None:
        session = self.sessions.get(session_id)
        return session if session is not None and session.tenant_id == tenant_id else None

    async def claim_attempt(self, session_id: str, now: float) -> int | None:
        async with self._lock:
            s = self.sessions.get(session_id)
            if (
                s is None
                or s.state is not SessionState.PENDING
                or s.attempts >= s.max_attempts
                or now >= s.expires_at
            ):
                return None
            self.sessions[session_id] = replace(s, attempts=s.attempts + 1)
            return s.attempts + 1

    async def transition(
        self, session_id: str, source: SessionState, target: SessionState, now: float
    ) -> bool:
        async with self._lock:
            s = self.sessions.get(session_id)
            if s is None or s.state is not source:
                return False
            self.sessions[session_id] = s.moved(target, now)
            return True

    async def count_send(self, session_id: str) -> None:
        s = self.sessions[session_id]
        self.sessions[session_id] = replace(s, sends=s.sends + 1)

    async def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    async def record_delivery(
        self, session: VerificationSession, result: DeliveryResult, at: float
    ) -> None:
        self.deliveries.append((session.id, result))


class InMemoryLimiter:
    """Fixed-window counters and lockouts kept in a dict."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}
        self.locks: dict[str, float] = {}

    async def hit(self, key: str, limit: int, window_seconds: int, now: float) -> RateDecision:
        window = int(now // window_seconds)
        count = self.counts.get((key, window), 0) + 1
        self.counts[(key, window)] = count
        retry_after = math.ceil((window + 1) * window_seconds - now)
        return RateDecision(allowed=count <= limit, retry_after=retry_after, count=count)

    async def lock(self, key: str, until: float) -> None:
        self.locks[key] = max(until, self.locks.get(key, 0.0))

    async def locked_until(self, key: str, now: float) -> float | None:
        until = self.locks.get(key)
        return until if until is not None and until > now else None


class RecordingCourier:
    """Delivers nothing; keeps every message so a test can read the code back."""

    def __init__(self, fail: bool = False) -> None:
        self.messages: list[OutgoingMessage] = []
        self.fail = fail

    async def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        self.messages.append(message)
        if self.fail:
            return DeliveryResult(ok=False, provider="recording", status_code=503, error="down")
        return DeliveryResult(
            ok=True,
            provider="recording",
            status_code=200,
            provider_message_id=f"rec-{len(self.messages)}",
        )

    def last_code(self) -> str:
        return self.messages[-1].code
