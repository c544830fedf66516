"""``X-End-User-IP``: the end user's address, for the APIs whose bodies have no field for it.

The evaluation API takes it in the body (``data.ip_address``, as its published document
has it); the PhoneMatch gateway and the sponsor API take this optional header. The abuse
guard limits sends per address when it is given, and ignores its absence.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from otpgate.core.errors import InvalidInput

HEADER = "X-End-User-IP"


def end_user_ip(request: Request) -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None or not raw.strip():
        return None
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError as exc:
        raise InvalidInput(HEADER, f"{HEADER} must be an IPv4 or IPv6 address") from exc
