"""The abuse guard's counting signals: velocity, spend budgets and conversion.

SMS pumping asks for codes to many numbers of one range (or one country) that are paid
per message received, and never enters them. Three signals catch it, all counted per
tenant and environment in the database's fixed-window counters, in the send's own
transaction (one multi-row upsert, one read):

- **velocity**: sends per number prefix (E.164 minus its last four digits) and per country
  in the hour;
- **spend budget**: sends per tenant per hour and per day (settable per tenant);
- **conversion**: the share of the prefix's and the country's sends that were verified,
  over the current and the previous window. Below the threshold over enough sends, the
  guard stores a pause for the range (``core/guard.py``) that refuses its sends for the
  cool-off, however the counters move meanwhile.

This module is pure: it names the counters and judges their counts; the guard counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from otpgate.core.canonical import phone_prefix
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.guard_types import GuardReason, GuardScope
from otpgate.core.model import Destination, DestinationKind, Environment

HOUR = 3_600
DAY = 86_400
RANGE_SCOPES = (GuardScope.PREFIX, GuardScope.COUNTRY)
VELOCITY = {
    GuardScope.PREFIX: GuardReason.PREFIX_VELOCITY,
    GuardScope.COUNTRY: GuardReason.COUNTRY_VELOCITY,
}
CONVERSION = {
    GuardScope.PREFIX: GuardReason.PREFIX_CONVERSION,
    GuardScope.COUNTRY: GuardReason.COUNTRY_CONVERSION,
}


@dataclass(frozen=True, slots=True)
class Tally:
    """One fixed-window counter: its key and window length, the limit it enforces (if
    any) and the reason a refusal by it is audited with."""

    key: str
    window_seconds: int
    limit: int | None = None
    reason: GuardReason | None = None

    def window(self, now: float) -> int:
        return int(now // self.window_seconds)

    def retry_after(self, now: float) -> int:
        return max(1, int((self.window(now) + 1) * self.window_seconds - now + 0.999))


def _h(value: str) -> str:
    """Keys name ranges by a short hash: counters hold no number in clear."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _base(tenant_id: str, environment: Environment | str) -> str:
    return f"guard:{tenant_id}:{environment}"


@dataclass(frozen=True, slots=True)
class Range:
    """A range phone sends fall in (a prefix or a country) and the names of its counters."""

    scope: GuardScope
    value: str
    """The prefix (``+44790012``) or the country (``GB``), in clear: what pauses store."""
    velocity: str
    """Sends this hour."""
    sent: str
    """Sends per conversion window."""
    verified: str
    """Verified codes per conversion window."""


def range_of(
    tenant_id: str, environment: Environment | str, scope: GuardScope, value: str
) -> Range:
    name = _h(value) if scope is GuardScope.PREFIX else value
    base = _base(tenant_id, environment)
    return Range(
        scope=scope,
        value=value,
        velocity=f"{base}:{scope}:{name}",
        sent=f"{base}:sent:{scope}:{name}",
        verified=f"{base}:ok:{scope}:{name}",
    )


def ranges(tenant_id: str, environment: Environment, destination: Destination) -> list[Range]:
    """The ranges of a phone destination (prefix first, then country); none for an email."""
    if destination.kind is not DestinationKind.PHONE:
        return []
    found = [range_of(tenant_id, environment, GuardScope.PREFIX, phone_prefix(destination.value))]
    if destination.country:
        found.append(range_of(tenant_id, environment, GuardScope.COUNTRY, destination.country))
    return found


def send_tallies(
    settings: GuardSettings,
    tenant_id: str,
    environment: Environment,
    destination: Destination,
    ip_address: str | None = None,
    *,
    judged: Sequence[Range] = (),
) -> list[Tally]:
    """The counters one send raises: the tenant's budgets, the end user's allowance, and
    for each range in ``judged`` its velocity (with limits) and its conversion sends (no
    limit: they are judged with the verified ones)."""
    base = _base(tenant_id, environment)
    budget = settings.budget_for(tenant_id)
    tallies = [
        Tally(f"{base}:tenant:h", HOUR, budget.per_hour, GuardReason.TENANT_HOURLY),
        Tally(f"{base}:tenant:d", DAY, budget.per_day, GuardReason.TENANT_DAILY),
    ]
    if ip_address:
        tallies.append(
            Tally(
                f"{base}:ip:{_h(ip_address)}",
                HOUR,
                settings.ip_sends_per_hour,
                GuardReason.IP_VELOCITY,
            )
        )
    per_hour = {
        GuardScope.PREFIX: settings.prefix_sends_per_hour,
        GuardScope.COUNTRY: settings.country_sends_per_hour,
    }
    for r in judged:
        tallies.append(Tally(r.velocity, HOUR, per_hour[r.scope], VELOCITY[r.scope]))
    window = settings.conversion_window_seconds
    tallies += [Tally(r.sent, window) for r in judged]
    return tallies


def verified_tallies(
    settings: GuardSettings, tenant_id: str, environment: Environment, destination: Destination
) -> list[Tally]:
    """The counters a verified code raises: the conversion's verified sends."""
    window = settings.conversion_window_seconds
    return [Tally(r.verified, window) for r in ranges(tenant_id, environment, destination)]


def over_limit(tallies: Sequence[Tally], counts: Sequence[int]) -> Tally | None:
    """The first counter past its limit, counting this send."""
    for tally, count in zip(tallies, counts, strict=True):
        if tally.limit is not None and count > tally.limit:
            return tally
    return None


def conversion_windows(settings: GuardSettings, now: float) -> list[int]:
    """The window numbers conversion is judged over: the current one and the previous."""
    window = int(now // settings.conversion_window_seconds)
    return [window, window - 1]


@dataclass(frozen=True, slots=True)
class Conversion:
    """A range's sends and verified codes over the conversion windows."""

    sent: int
    verified: int


def conversion_of(
    settings: GuardSettings, r: Range, counts: Mapping[tuple[str, int], int], now: float
) -> Conversion:
    """``counts`` maps ``(key, window number)`` to a count (``CounterRepository.counts``)."""
    windows = conversion_windows(settings, now)
    return Conversion(
        sent=sum(counts.get((r.sent, w), 0) for w in windows),
        verified=sum(counts.get((r.verified, w), 0) for w in windows),
    )


def judge_conversion(
    settings: GuardSettings,
    judged: Sequence[Range],
    counts: Mapping[tuple[str, int], int],
    now: float,
) -> Range | None:
    """The first range whose sends are too rarely verified: it is to be paused. This send
    is already counted among the sent ones."""
    minimum = {
        GuardScope.PREFIX: settings.prefix_conversion_min_sends,
        GuardScope.COUNTRY: settings.country_conversion_min_sends,
    }
    for r in judged:
        seen = conversion_of(settings, r, counts, now)
        if (
            seen.sent >= minimum[r.scope]
            and seen.verified < settings.conversion_threshold * seen.sent
        ):
            return r
    return None
