"""Masking of destinations for display: enough for a person to recognise, no more."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otpgate.core.model import Destination


def mask_phone(e164: str, calling_code: str | None = None) -> str:
    """``+573001234542`` with calling code ``57`` → ``+57 300 *** ** 42``.

    Keeps the country calling code, the first three national digits and the
    last two; the rest become stars grouped in threes.
    """
    digits = e164.lstrip("+")
    cc = calling_code if calling_code and digits.startswith(calling_code) else digits[:1]
    national = digits[len(cc) :]
    if len(national) <= 5:
        return f"+{cc} " + "*" * max(0, len(national) - 2) + national[-2:]
    hidden = "*" * (len(national) - 5)
    groups = " ".join(hidden[i : i + 3] for i in range(0, len(hidden), 3))
    return f"+{cc} {national[:3]} {groups} {national[-2:]}"


def mask_email(address: str) -> str:
    """``jane.doe@example.com`` → ``j***e@example.com``."""
    local, _, domain = address.partition("@")
    shown = local[:1] + "*" if len(local) <= 2 else f"{local[0]}***{local[-1]}"
    return f"{shown}@{domain}"


def mask_destination(destination: Destination) -> str:
    from otpgate.core.model import DestinationKind

    if destination.kind is DestinationKind.PHONE:
        return mask_phone(destination.value, destination.calling_code)
    return mask_email(destination.value)
