"""Settings that keep the abuse guard's counting signals out of the way of tests that send
by the hundred to one number range for other reasons (its number checks and failure
budget stay as they are)."""

from __future__ import annotations

GUARD_OUT_OF_THE_WAY = {
    "guard_prefix_sends_per_hour": 10_000_000,
    "guard_country_sends_per_hour": 10_000_000,
    "guard_prefix_conversion_min_sends": 10_000_000,
    "guard_country_conversion_min_sends": 10_000_000,
}
GUARD_ENV_OUT_OF_THE_WAY = {f"OTPGATE_{k.upper()}": str(v) for k, v in GUARD_OUT_OF_THE_WAY.items()}
