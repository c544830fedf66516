"""The sandbox's magic values, as the evaluation API guide defines them."""

from __future__ import annotations

from otpgate.core.model import Destination, DestinationKind

FAILING_PHONE = "+11234567890"
INVALID_CODE_CHAR = "0"


def delivery_must_fail(destination: Destination) -> bool:
    return destination.kind is DestinationKind.PHONE and destination.value == FAILING_PHONE


def code_accepted(code: str) -> bool:
    """Any well-formed code is accepted except the all-zero one (``000000``)."""
    return set(code) != {INVALID_CODE_CHAR}
