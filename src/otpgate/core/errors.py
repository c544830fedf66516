"""The one error tree of otpgate.

Every error carries a stable ``code`` that front-ends map to their own wire
vocabulary (each API package keeps that mapping in one table):

==========================  ==============================================
code                        meaning
==========================  ==============================================
``invalid_input``           a field is missing or malformed (``field`` names it)
``not_found``               no such object for this tenant
``conflict``                the object is in a state that forbids the request
``rate_limited``            a rate limit refused the request (``retry_after``)
``destination_locked``      too many failed attempts locked the destination
``unauthorized``            missing, malformed or unknown credentials
``forbidden``               credentials valid, operation not allowed
``refused_for_risk``        the abuse guard refused a send (never says why)
``paused_for_risk``         the abuse guard refused a send for a while (``retry_after``)
==========================  ==============================================
"""

from __future__ import annotations


class OtpError(Exception):
    code = "otp_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(OtpError):
    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(OtpError):
    code = "not_found"


class Conflict(OtpError):
    code = "conflict"


class Unauthorized(OtpError):
    code = "unauthorized"


class Forbidden(OtpError):
    code = "forbidden"


class RefusedForRisk(Forbidden):
    """The abuse guard refused the send. The message says only that; the reason is in
    the audit trail and the metrics."""

    code = "refused_for_risk"


class RateLimited(OtpError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class PausedForRisk(RateLimited):
    """The abuse guard refused the send for a while (velocity, budget or conversion);
    like :class:`RefusedForRisk` it says nothing more."""

    code = "paused_for_risk"


class DestinationLocked(RateLimited):
    code = "destination_locked"


class IllegalTransition(ValueError):
    """A state change its machine's transition table does not allow (``core/states.py``).

    Not an :class:`OtpError`: the flows refuse such requests with a ``Conflict`` before they
    get this far, so reaching it is a bug, answered as one (500)."""

    def __init__(self, machine: str, source: object, target: object) -> None:
        super().__init__(f"{machine}: no transition {source} -> {target}")
        self.machine = machine
        self.source = source
        self.target = target
