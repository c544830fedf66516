"""What the abuse guard reads, stores and says: reasons, list entries, pauses."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from otpgate.core.sandbox import GUARD_REFUSED_PHONE

__all__ = [
    "GUARD_REFUSED_PHONE",
    "GuardReason",
    "GuardScope",
    "ListEntry",
    "ListVerdict",
    "ListedEntry",
    "LockedDestination",
    "Pause",
    "Screening",
]


class GuardReason(enum.StrEnum):
    """Internal reasons, for audit and metrics; never shown to the caller."""

    REFUSED_NUMBER = "refused_number"  # the sandbox magic number
    BLOCK_LIST = "block_list"
    NUMBER_TYPE = "number_type"
    PREFIX_CONVERSION = "prefix_conversion"
    COUNTRY_CONVERSION = "country_conversion"
    PREFIX_VELOCITY = "prefix_velocity"
    COUNTRY_VELOCITY = "country_velocity"
    IP_VELOCITY = "ip_velocity"
    TENANT_HOURLY = "tenant_hourly"
    TENANT_DAILY = "tenant_daily"


class GuardScope(enum.StrEnum):
    """What a list entry or a pause covers."""

    COUNTRY = "country"  # an ISO 3166 region as phonenumbers gives it ("US"; "001": +881…)
    PREFIX = "prefix"  # the leading digits of E.164 numbers ("+1201555")
    DESTINATION = "destination"  # one number or address, by its keyed fingerprint


class ListVerdict(enum.StrEnum):
    ALLOW = "allow"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class ListEntry:
    """A scope and its value as stored: a country or prefix as given, a destination as the
    keyed fingerprint of its canonical form (a copy of the database reveals no number)."""

    scope: GuardScope
    value: str


@dataclass(frozen=True, slots=True)
class ListedEntry:
    """One line of a tenant's lists, as an operator reads it back."""

    entry: ListEntry
    verdict: ListVerdict
    label: str
    """What the operator typed, masked for a destination (``+1 415 *** **00``)."""
    created_at: float


@dataclass(frozen=True, slots=True)
class Pause:
    """Sends to a prefix or country of one tenant and environment refused until ``until``."""

    environment: str
    scope: GuardScope
    value: str
    until: float
    created_at: float


@dataclass(frozen=True, slots=True)
class Screening:
    """What the send's one read found: the tenant's verdicts on the destination, its
    country and its prefixes, and the pauses in force on its prefix or country."""

    verdicts: frozenset[ListVerdict] = frozenset()
    pauses: Sequence[Pause] = ()

    @property
    def allowed(self) -> bool:
        """An allow entry covers the send: it wins over every block and range signal."""
        return ListVerdict.ALLOW in self.verdicts

    @property
    def blocked(self) -> bool:
        return ListVerdict.BLOCK in self.verdicts


@dataclass(frozen=True, slots=True)
class LockedDestination:
    """A destination that takes no sends or guesses until ``until``, shown masked."""

    key: str
    """Its destination key (``<tenant>:<fingerprint>``)."""
    label: str
    until: float

    @staticmethod
    def unknown_label(key: str) -> str:
        """The label of a locked destination none of whose sessions is left to mask it."""
        return f"(no session left; key …{key[-8:]})"
