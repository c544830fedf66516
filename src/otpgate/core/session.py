"""The verification session and its state machine.

One send starts one session. It lives ``ttl_seconds`` from creation; a resend
neither extends it nor resets its attempts.

```mermaid
stateDiagram-v2
    [*] --> pending: start (code delivered)
    [*] --> undelivered: start (every provider failed)
    pending --> verified: correct code
    pending --> failed: max_attempts-th wrong code
    pending --> expired: any use after expires_at
    pending --> cancelled: resume / channel switch
```

Every state but ``pending`` is terminal. Stores apply transitions with a
conditional update (``WHERE state = 'pending'``) so that two racing requests
cannot both move a session.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from otpgate.core.model import Channel, Destination, Environment


class SessionState(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    UNDELIVERED = "undelivered"

    @property
    def is_terminal(self) -> bool:
        return self is not SessionState.PENDING


TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.PENDING: frozenset(
        {
            SessionState.VERIFIED,
            SessionState.FAILED,
            SessionState.EXPIRED,
            SessionState.CANCELLED,
            SessionState.UNDELIVERED,
        }
    ),
    SessionState.VERIFIED: frozenset(),
    SessionState.FAILED: frozenset(),
    SessionState.EXPIRED: frozenset(),
    SessionState.CANCELLED: frozenset(),
    SessionState.UNDELIVERED: frozenset(),
}


def can_transition(source: SessionState, target: SessionState) -> bool:
    return target in TRANSITIONS[source]


@dataclass(frozen=True, slots=True)
class VerificationSession:
    id: str
    tenant_id: str
    environment: Environment
    channel: Channel
    destination: Destination
    destination_key: str
    nonce: str
    key_id: str
    code_length: int
    max_attempts: int
    created_at: float
    expires_at: float
    state: SessionState = SessionState.PENDING
    attempts: int = 0
    sends: int = 0
    closed_at: float | None = None
    locale: str | None = None

    @property
    def attempts_remaining(self) -> int:
        return max(0, self.max_attempts - self.attempts)

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at

    def effective_state(self, now: float) -> SessionState:
        """The state as of ``now``: a pending session past its TTL reads as expired."""
        if self.state is SessionState.PENDING and self.is_expired(now):
            return SessionState.EXPIRED
        return self.state

    def moved(self, state: SessionState, at: float) -> VerificationSession:
        if not can_transition(self.state, state):
            raise ValueError(f"no transition {self.state} -> {state}")
        return replace(self, state=state, closed_at=at)
