"""The verification session and its state machine.

One send starts one session. It lives ``ttl_seconds`` from creation; a resend
neither extends it nor resets its attempts.

```mermaid
stateDiagram-v2
    [*] --> pending: start (the code is on its way)
    pending --> verified: correct code
    pending --> failed: max_attempts-th wrong code
    pending --> expired: any use after expires_at
    pending --> cancelled: resume / channel switch
    pending --> undelivered: its first delivery failed (every provider)
```

Every state but ``pending`` is terminal. Stores apply transitions with a
conditional update (``WHERE state = 'pending'``) so that two racing requests
cannot both move a session.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from otpgate.core.model import Channel, Destination, Environment
from otpgate.core.states import TransitionTable


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


TRANSITIONS = TransitionTable(
    "session",
    SessionState,
    {
        SessionState.PENDING: {
            SessionState.VERIFIED,
            SessionState.FAILED,
            SessionState.EXPIRED,
            SessionState.CANCELLED,
            SessionState.UNDELIVERED,
        },
        SessionState.VERIFIED: (),
        SessionState.FAILED: (),
        SessionState.EXPIRED: (),
        SessionState.CANCELLED: (),
        SessionState.UNDELIVERED: (),
    },
)


def can_transition(source: SessionState, target: SessionState) -> bool:
    return TRANSITIONS.allows(source, target)


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
        """This session in ``state`` from ``at`` on; ``IllegalTransition`` (a ``ValueError``)
        for a move the table does not allow."""
        return replace(self, state=TRANSITIONS.move(self.state, state), closed_at=at)
