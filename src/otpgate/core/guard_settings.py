"""Every threshold of the abuse guard, with defaults a real sign-up flow never trips.

Why these defaults (all per tenant and environment; a sandbox never spends a
production budget):

- **Number types** refused: premium-rate, shared-cost, toll-free, pager, voicemail and
  UAN. A person signing up gets a code on a mobile, a landline or a VoIP number; the
  refused types either bill the sender per message received (the pumping business
  model) or cannot read an SMS at all.
- **Per prefix** (the number without its last 4 digits, a block of 10,000 numbers),
  20 sends an hour. Even a service with a million sign-ups a day spreads them over
  hundreds of thousands of blocks; pumping walks one block number by number.
- **Per country**, 500 sends an hour; **per tenant** 1,000 an hour and 10,000 a day
  (the spend budget: at a few cents a message, a bad day costs hundreds, not the
  issue's 5,000 codes in 14 s). Bigger tenants raise theirs (``tenant_budgets``).
- **Per end-user IP address**, 30 sends an hour: a person needs two or three codes;
  30 leaves room for many people behind one carrier-grade NAT or office proxy.
- **Conversion**: over the current and the previous 30-minute window, a prefix with at
  least 20 sends and a country with at least 100 of which fewer than 10 % were verified
  is paused for an hour. Real people enter 60-90 % of their codes (less where carriers
  filter SMS, still far above 10 %); pumped numbers enter none. The volume floors sit
  well above what a burst of genuine sign-ups sends before its first codes come back
  (a minute or two), so the lag between a send and its verification never trips it.
  The pause outlasts both windows, so when it lifts the counters that caused it are gone.
- **Failure budget**: 10 wrong codes an hour per canonical destination across all
  sessions and APIs, twice a session's 5 attempts: a person mistyping twice in two
  sessions is fine, a send-and-guess cycle (4 guesses, new session, 4 more, …) stops
  after its third session instead of never.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

DEFAULT_REFUSED_LINE_TYPES: frozenset[str] = frozenset(
    {"premium_rate", "shared_cost", "toll_free", "pager", "voicemail", "uan"}
)


@dataclass(frozen=True, slots=True)
class TenantBudget:
    """How many sends one tenant may make, per hour and per day, in one environment."""

    per_hour: int
    per_day: int


@dataclass(frozen=True, slots=True)
class GuardSettings:
    enabled: bool = True
    refused_line_types: frozenset[str] = DEFAULT_REFUSED_LINE_TYPES

    prefix_sends_per_hour: int = 20
    country_sends_per_hour: int = 500
    tenant_sends_per_hour: int = 1_000
    tenant_sends_per_day: int = 10_000
    ip_sends_per_hour: int = 30
    tenant_budgets: Mapping[str, TenantBudget] = field(default_factory=lambda: MappingProxyType({}))

    conversion_window_seconds: int = 1_800
    conversion_threshold: float = 0.1
    prefix_conversion_min_sends: int = 20
    country_conversion_min_sends: int = 100
    conversion_cooloff_seconds: int = 3_600

    failures_per_hour: int = 10
    failure_lockout_seconds: int = 3_600

    def __post_init__(self) -> None:
        for name in (
            "prefix_sends_per_hour",
            "country_sends_per_hour",
            "tenant_sends_per_hour",
            "tenant_sends_per_day",
            "ip_sends_per_hour",
            "conversion_window_seconds",
            "prefix_conversion_min_sends",
            "country_conversion_min_sends",
            "failures_per_hour",
            "failure_lockout_seconds",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if not 0.0 <= self.conversion_threshold <= 1.0:
            raise ValueError("conversion_threshold must be between 0 and 1")
        if self.conversion_cooloff_seconds < 2 * self.conversion_window_seconds:
            # Shorter, and a lifted pause would be re-imposed at once by the same sends.
            raise ValueError("conversion_cooloff_seconds must be at least two windows")
        for tenant, budget in self.tenant_budgets.items():
            if budget.per_hour < 1 or budget.per_day < 1:
                raise ValueError(f"the budget of tenant {tenant} must be positive")

    def budget_for(self, tenant_id: str) -> TenantBudget:
        return self.tenant_budgets.get(
            tenant_id, TenantBudget(self.tenant_sends_per_hour, self.tenant_sends_per_day)
        )
