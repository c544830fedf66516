"""The names the guard counts under, built once per call from a subject.

``g:<environment>:<tenant>:<signal>:<scope value>``. Numbers, prefixes, addresses and
IP addresses appear only as keyed hashes (``fingerprint``, the keyring's), so a copy of
the counter store reveals no destination; country codes appear in clear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from otpgate.core.canonical import canonical_destination, phone_prefix
from otpgate.core.guard_ports import ListEntry, ListScope
from otpgate.core.guard_types import GuardSubject
from otpgate.core.model import Destination, DestinationKind, Environment

SCOPES = ("prefix", "country")


def country_of(destination: Destination) -> str:
    """The region, or the calling code for non-geographic numbers (``001``: +881, +979)."""
    if destination.country and destination.country != "001":
        return destination.country
    return f"+{destination.calling_code or '0'}"


def base_key(tenant_id: str, environment: Environment) -> str:
    return f"g:{environment.value}:{tenant_id}"


@dataclass(frozen=True, slots=True)
class SubjectKeys:
    base: str
    canonical: str
    is_phone: bool
    lock: str  # the destination's lockout
    failures: str  # its wrong codes
    tenant: str  # the tenant's budget
    ip: str | None
    scoped: dict[str, str]  # "prefix" / "country" -> that scope's suffix


def keys_for(subject: GuardSubject, fingerprint: Callable[[str], str]) -> SubjectKeys:
    destination = subject.destination
    base = base_key(subject.tenant_id, subject.environment)
    canonical = canonical_destination(destination)
    hashed = fingerprint(canonical)
    phone = destination.kind is DestinationKind.PHONE
    scoped = {}
    if phone:
        scoped = {
            "prefix": f"prefix:{fingerprint(phone_prefix(canonical))}",
            "country": f"country:{country_of(destination)}",
        }
    ip = f"{base}:v:ip:{fingerprint('ip:' + subject.ip_address)}" if subject.ip_address else None
    return SubjectKeys(
        base=base,
        canonical=canonical,
        is_phone=phone,
        lock=f"{base}:lock:{hashed}",
        failures=f"{base}:f:{hashed}",
        tenant=f"{base}:v:tenant",
        ip=ip,
        scoped=scoped,
    )


def scope_key(keys: SubjectKeys, signal: str, scope: str) -> str:
    """The key of ``signal`` (``pause``, ``exempt``, ``v``, ``c:sent``, ``c:ok``) for a scope."""
    return f"{keys.base}:{signal}:{keys.scoped[scope]}"


def list_entries(
    subject: GuardSubject, keys: SubjectKeys, fingerprint: Callable[[str], str]
) -> list[ListEntry]:
    """What the tenant's lists may hold about this destination: it, its country, its prefixes."""
    entries = [ListEntry(ListScope.DESTINATION, fingerprint(keys.canonical))]
    if keys.is_phone:
        if subject.destination.country:
            entries.append(ListEntry(ListScope.COUNTRY, subject.destination.country))
        entries += [
            ListEntry(ListScope.PREFIX, fingerprint(keys.canonical[:n]))
            for n in range(2, len(keys.canonical))
        ]
    return entries
