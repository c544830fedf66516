"""What the PhoneMatch gateway offers, and who may use it.

- ``service`` names the channel: ``PhoneMatch5.0.SMS``, ``…Voice`` or ``…Email``.
- The credentials are in the body: ``pass`` is one of the tenant's API keys and ``user``
  must be that tenant's name. A wrong key and a wrong name get the same answer, after
  the same work (:func:`user_names_tenant` compares against a dummy name when the key is
  unknown).
"""

from __future__ import annotations

import hmac

from otpgate.core.errors import InvalidInput
from otpgate.core.model import Channel, Tenant

SERVICES: dict[str, Channel] = {
    "PhoneMatch5.0.SMS": Channel.SMS,
    "PhoneMatch5.0.Voice": Channel.VOICE,
    "PhoneMatch5.0.Email": Channel.EMAIL,
}
_NO_TENANT = "\x00" * 16  # compared against when the key is unknown, to even the timing


def channel_for(service: str) -> Channel:
    """The channel ``service`` names; ``InvalidInput`` for a service the gateway lacks."""
    channel = SERVICES.get(service)
    if channel is None:
        raise InvalidInput(
            "service", f"unknown service {service!r}; use one of {', '.join(SERVICES)}"
        )
    return channel


def user_names_tenant(tenant: Tenant | None, user: str) -> bool:
    """``user`` is the name of ``tenant`` (the key's); ``False`` for an unknown key."""
    name = tenant.name if tenant is not None else _NO_TENANT
    return hmac.compare_digest(name.encode(), user.encode()) and tenant is not None
