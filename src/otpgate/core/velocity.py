"""The abuse guard's counting signals: velocity, spend budgets and conversion.

SMS pumping asks for codes to many numbers of one range (or one country) that are paid
per message received, and never enters them. Three signals catch it, all counted per
tenant and environment in the database's fixed-window counters, in the send's own
transaction (one multi-row upsert, one read):

- **velocity**: sends per number prefix (E.164 minus its last four digits) and per country
  in the hour;
- **spend budget**: sends per tenant per hour and per day (settable per tenant);
- **conversion**: the share of the prefix's and the country's sends that were verified,
  over the current and the previous window; below the threshold over enough sends, new
  sends there are refused until verified ones raise it, or the windows roll past (which
  is the cool-off: at most two windows).

This module is pure: it names the counters and judges their counts; the core counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from otpgate.core.canonical import phone_prefix
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.guard_types import GuardReason
from otpgate.core.model import Destination, DestinationKind, Environment

HOUR = 3_600
DAY = 86_400


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
    """Keys name ranges and countries by a short hash: counters reveal no number."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _scopes(destination: Destination) -> dict[str, str]:
    scopes: dict[str, str] = {}
    if destination.kind is DestinationKind.PHONE:
        scopes["prefix"] = _h(phone_prefix(destination.value))
        if destination.country:
            scopes["country"] = destination.country
    return scopes


def send_tallies(
    settings: GuardSettings,
    tenant_id: str,
    environment: Environment,
    destination: Destination,
    ip_address: str | None = None,
) -> list[Tally]:
    """The counters one send raises: velocity and budgets (with limits) and the sends of
    its conversion counters (no limit: they are judged with the verified ones)."""
    base = f"guard:{tenant_id}:{environment}"
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
    scopes = _scopes(destination)
    if "prefix" in scopes:
        tallies.append(
            Tally(
                f"{base}:prefix:{scopes['prefix']}",
                HOUR,
                settings.prefix_sends_per_hour,
                GuardReason.PREFIX_VELOCITY,
            )
        )
    if "country" in scopes:
        tallies.append(
            Tally(
                f"{base}:country:{scopes['country']}",
                HOUR,
                settings.country_sends_per_hour,
                GuardReason.COUNTRY_VELOCITY,
            )
        )
    window = settings.conversion_window_seconds
    tallies += [Tally(f"{base}:sent:{s}:{v}", window) for s, v in scopes.items()]
    return tallies


def verified_tallies(
    settings: GuardSettings, tenant_id: str, environment: Environment, destination: Destination
) -> list[Tally]:
    """The counters a verified code raises: the conversion's verified sends."""
    base = f"guard:{tenant_id}:{environment}"
    window = settings.conversion_window_seconds
    return [Tally(f"{base}:ok:{s}:{v}", window) for s, v in _scopes(destination).items()]


def over_limit(tallies: Sequence[Tally], counts: Sequence[int]) -> Tally | None:
    """The first counter past its limit, counting this send."""
    for tally, count in zip(tallies, counts, strict=True):
        if tally.limit is not None and count > tally.limit:
            return tally
    return None


@dataclass(frozen=True, slots=True)
class ConversionProbe:
    """The counters whose counts judge conversion: sent and verified, this window and the
    previous one, for each scope of the destination."""

    scope: str
    sent: Tally
    verified: Tally


def conversion_probes(
    settings: GuardSettings, tenant_id: str, environment: Environment, destination: Destination
) -> list[ConversionProbe]:
    base = f"guard:{tenant_id}:{environment}"
    window = settings.conversion_window_seconds
    probes = []
    for scope, value in _scopes(destination).items():
        sent = Tally(f"{base}:sent:{scope}:{value}", window)
        verified = Tally(f"{base}:ok:{scope}:{value}", window)
        probes.append(ConversionProbe(scope, sent, verified))
    return probes


def judge_conversion(
    settings: GuardSettings,
    probes: Sequence[ConversionProbe],
    counts: Mapping[tuple[str, int], int],
    now: float,
) -> tuple[GuardReason, int] | None:
    """A pause (reason, seconds until it may lift) where too few sends were verified.

    ``counts`` maps ``(key, window number)`` to a count, for the current and previous
    windows; this send is already counted among the sent ones."""
    minimum = {
        "prefix": settings.prefix_conversion_min_sends,
        "country": settings.country_conversion_min_sends,
    }
    reasons = {"prefix": GuardReason.PREFIX_CONVERSION, "country": GuardReason.COUNTRY_CONVERSION}
    for probe in probes:
        window = probe.sent.window(now)
        sent = sum(counts.get((probe.sent.key, w), 0) for w in (window, window - 1))
        verified = sum(counts.get((probe.verified.key, w), 0) for w in (window, window - 1))
        if sent >= minimum[probe.scope] and verified < settings.conversion_threshold * sent:
            return reasons[probe.scope], probe.sent.retry_after(now)
    return None
