"""The sandbox's magic values, as the evaluation API guide defines them (and one of ours).

=====================  ==================================================================
value                  what it does
=====================  ==================================================================
``+11234567890``       in the sandbox, the code's delivery fails (:func:`delivery_must_fail`)
``+11234567899``       the abuse guard refuses the send, in either environment
                       (``core/guard.py``): integrators can test their handling of a block
code ``000000``        in the sandbox, refused (:func:`code_accepted`); any other
                       well-formed code passes
=====================  ==================================================================

Neither number is a real, valid one, so the phone parser accepts them only where the
caller says magic numbers stand for themselves (:func:`takes_magic_numbers`).
"""

from __future__ import annotations

from otpgate.core.model import Destination, DestinationKind, Environment

FAILING_PHONE = "+11234567890"
GUARD_REFUSED_PHONE = "+11234567899"
MAGIC_PHONES = frozenset({FAILING_PHONE, GUARD_REFUSED_PHONE})
INVALID_CODE_CHAR = "0"


def takes_magic_numbers(environment: Environment) -> bool:
    """A request made with a key of ``environment`` may name the magic numbers: a sandbox
    key may; a production key's number must be a real one."""
    return environment is Environment.SANDBOX


def magic_destination(typed: str) -> Destination | None:
    """The magic number ``typed`` spells (hyphens and spaces ignored), as a destination."""
    value = typed.replace("-", "").replace(" ", "")
    if value not in MAGIC_PHONES:
        return None
    return Destination(DestinationKind.PHONE, value, "US", "unknown", "1")


def delivery_must_fail(destination: Destination) -> bool:
    return destination.kind is DestinationKind.PHONE and destination.value == FAILING_PHONE


def code_accepted(code: str) -> bool:
    """Any well-formed code is accepted except the all-zero one (``000000``)."""
    return set(code) != {INVALID_CODE_CHAR}
