"""What the abuse guard takes and answers: subjects, decisions, reasons, outcomes."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from otpgate.core.model import Destination, Environment
from otpgate.core.sandbox import GUARD_REFUSED_PHONE

__all__ = ["GUARD_REFUSED_PHONE", "GuardDecision", "GuardReason", "GuardSubject", "Outcome"]


class GuardReason(enum.StrEnum):
    """Internal reasons, for audit and metrics; never shown to the caller."""

    REFUSED_NUMBER = "refused_number"  # the sandbox magic number
    BLOCK_LIST = "block_list"
    ALLOW_LIST = "allow_list"  # informational: an allow entry matched
    NUMBER_TYPE = "number_type"
    LOCKED = "locked"  # failure budget spent, or the ordinary lockout
    PREFIX_CONVERSION = "prefix_conversion"
    COUNTRY_CONVERSION = "country_conversion"
    PREFIX_VELOCITY = "prefix_velocity"
    COUNTRY_VELOCITY = "country_velocity"
    IP_VELOCITY = "ip_velocity"
    TENANT_HOURLY = "tenant_hourly"
    TENANT_DAILY = "tenant_daily"
    FAIL_OPEN = "fail_open"  # informational: a port raised, the signal was skipped


class Outcome(enum.StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"


@dataclass(frozen=True, slots=True)
class GuardSubject:
    """Who sends to what: the destination as ``otpgate.destinations`` parsed it."""

    tenant_id: str
    environment: Environment
    destination: Destination
    ip_address: str | None = None


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """Allowed or not; ``reasons`` for audit and metrics, ``retry_after`` if it lifts."""

    allowed: bool
    reasons: tuple[GuardReason, ...] = ()
    retry_after: int | None = None  # seconds

    @property
    def failed_open(self) -> bool:
        return GuardReason.FAIL_OPEN in self.reasons
