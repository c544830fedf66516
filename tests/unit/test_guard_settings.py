"""OTPGATE_GUARD_* settings build the guard's thresholds."""

from __future__ import annotations

import pydantic
import pytest

from otpgate.core.guard_settings import DEFAULT_REFUSED_LINE_TYPES, GuardSettings, TenantBudget
from otpgate.settings import Settings


def make(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg,arg-type]


def test_defaults_are_the_guard_defaults() -> None:
    assert make().guard() == GuardSettings()
    assert make().guard().refused_line_types == DEFAULT_REFUSED_LINE_TYPES


def test_environment_variables_reach_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTPGATE_GUARD_ENABLED", "false")
    monkeypatch.setenv("OTPGATE_GUARD_REFUSED_LINE_TYPES", "premium_rate, pager")
    monkeypatch.setenv("OTPGATE_GUARD_PREFIX_SENDS_PER_HOUR", "7")
    monkeypatch.setenv("OTPGATE_GUARD_FAILURES_PER_HOUR", "4")
    monkeypatch.setenv("OTPGATE_GUARD_TENANT_BUDGETS", "acme=5000/50000, t2=10/100")
    guard = Settings(_env_file=None).guard()  # type: ignore[call-arg]
    assert not guard.enabled
    assert guard.refused_line_types == frozenset({"premium_rate", "pager"})
    assert guard.prefix_sends_per_hour == 7
    assert guard.failures_per_hour == 4
    assert guard.budget_for("acme") == TenantBudget(5000, 50000)
    assert guard.budget_for("t2") == TenantBudget(10, 100)
    assert guard.budget_for("other") == TenantBudget(1_000, 10_000)


@pytest.mark.parametrize("raw", ["acme=5000", "acme=x/1", "=1/2", "acme=0/10"])
def test_bad_tenant_budgets_are_refused(raw: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="tenant_id=per_hour/per_day"):
        make(guard_tenant_budgets=raw)


def test_contradicting_thresholds_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="two windows"):
        make(guard_conversion_window_seconds="3600", guard_conversion_cooloff_seconds="3600")
