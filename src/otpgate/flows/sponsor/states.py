"""The sponsor OTP's state machine: from ``send`` to the redemption of its token.

Nothing stores this state: it is read off the core session behind the ``otp_id`` and
the verification token issued for it (:func:`token_state`, :func:`session_state`).
The flow (``service.py``) asks :data:`TRANSITIONS` before each change it makes, and the
answers to a request the state cannot take are chosen by state.

```mermaid
stateDiagram-v2
    [*] --> sent: send (an otp_id for a code on its way)
    sent --> sent: a wrong code, attempts left
    sent --> undelivered: no provider could deliver the code
    sent --> invalidated: the last attempt used on a wrong code
    sent --> expired: the code's TTL passed
    sent --> validated: the right code (a verification token is issued)
    validated --> redeemed: the token redeemed for an operation, once
    validated --> lapsed: the token's TTL passed unredeemed
```
"""

from __future__ import annotations

import enum

from otpgate.core.session import SessionState
from otpgate.core.states import TransitionTable
from otpgate.flows.sponsor.model import TokenRecord


class OtpState(enum.StrEnum):
    SENT = "sent"
    UNDELIVERED = "undelivered"
    INVALIDATED = "invalidated"
    EXPIRED = "expired"
    VALIDATED = "validated"
    REDEEMED = "redeemed"
    LAPSED = "lapsed"


TRANSITIONS = TransitionTable(
    "sponsor OTP",
    OtpState,
    {
        OtpState.SENT: {
            OtpState.SENT,
            OtpState.UNDELIVERED,
            OtpState.INVALIDATED,
            OtpState.EXPIRED,
            OtpState.VALIDATED,
        },
        OtpState.UNDELIVERED: (),
        OtpState.INVALIDATED: (),
        OtpState.EXPIRED: (),
        OtpState.VALIDATED: {OtpState.REDEEMED, OtpState.LAPSED},
        OtpState.REDEEMED: (),
        OtpState.LAPSED: (),
    },
)

_BY_SESSION = {
    SessionState.PENDING: OtpState.SENT,
    SessionState.UNDELIVERED: OtpState.UNDELIVERED,
    SessionState.FAILED: OtpState.INVALIDATED,
    SessionState.EXPIRED: OtpState.EXPIRED,
    SessionState.VERIFIED: OtpState.VALIDATED,
    SessionState.CANCELLED: OtpState.EXPIRED,  # never done to a sponsor OTP: no longer usable
}


def session_state(state: SessionState) -> OtpState:
    """The OTP's state while no token was issued for it, from its session's (effective)
    state."""
    return _BY_SESSION[state]


def token_state(token: TokenRecord, now: float) -> OtpState:
    """The OTP's state once a verification token was issued for it."""
    if token.redeemed_at is not None:
        return OtpState.REDEEMED
    return OtpState.LAPSED if token.expires_at <= now else OtpState.VALIDATED
