"""SMS pumping as the core meets it: velocity per prefix, spend budgets and conversion
(``core/velocity.py``), counted in the send's own unit of work."""

from __future__ import annotations

import random

import pytest

from otpgate.core.errors import PausedForRisk, RateLimited
from otpgate.core.guard_settings import GuardSettings, TenantBudget
from otpgate.core.model import Destination, DestinationKind, Policy

from .conftest import Core

ROOMY = Policy(send_limit_per_minute=1000)


def mobile(number: str, country: str = "GB") -> Destination:
    return Destination(DestinationKind.PHONE, number, country, "mobile", "44")


async def pump(core: Core, numbers: list[Destination]) -> tuple[int, int]:
    """Send to every number, verifying none; return (sent, refused)."""
    sent = refused = 0
    for number in numbers:
        try:
            await core.service.start(core.request(number))
            sent += 1
        except PausedForRisk as exc:
            assert exc.message == "the request was refused for risk"
            assert 1 <= exc.retry_after <= 3600
            refused += 1
    return sent, refused


async def test_pumping_one_prefix_is_stopped_within_the_velocity_limit() -> None:
    core = Core(ROOMY)
    numbers = [mobile(f"+4479001{i:05d}") for i in range(500)]  # one range, never verified
    sent, refused = await pump(core, numbers)
    assert sent <= 20 and refused == 500 - sent
    assert len(core.courier.messages) == sent


async def test_pumping_without_verifications_is_paused_by_conversion() -> None:
    """The velocity limit set high: conversion alone pauses a prefix nobody verifies."""
    core = Core(ROOMY, GuardSettings(prefix_sends_per_hour=10_000, country_sends_per_hour=10_000))
    sent, _ = await pump(core, [mobile(f"+4479002{i:05d}") for i in range(500)])
    # The 20th send makes 20 with none verified (below 10 %): it stores the pause and goes
    # out; every send after it is refused.
    assert sent == 20


async def test_a_real_sign_up_mix_is_never_refused() -> None:
    """Many countries and ranges, three codes in four entered: nothing trips."""
    core = Core(ROOMY)
    rng = random.Random(7)
    countries = {"GB": "+447", "FR": "+336", "DE": "+4915", "US": "+1415", "BR": "+55119"}
    for i in range(600):
        country = rng.choice(sorted(countries))
        number = countries[country] + f"{rng.randrange(10**8):08d}"
        sent = await core.service.start(core.request(mobile(number, country)))
        if rng.random() < 0.75:
            assert (await core.service.verify("t1", sent.session.id, core.courier.last_code())).ok
        core.clock.advance(rng.uniform(0, 12))


async def test_the_tenant_budget_caps_sends_per_hour_and_per_day() -> None:
    budgets = {"t1": TenantBudget(per_hour=30, per_day=40)}
    core = Core(ROOMY, GuardSettings(tenant_budgets=budgets))
    rng = random.Random(3)
    sent = 0
    for hour in range(3):
        for _ in range(35):
            number = mobile(f"+447{rng.randrange(10**9):09d}")
            try:
                await core.service.start(core.request(number))
                sent += 1
            except PausedForRisk:
                pass
        core.clock.advance(3600)
        assert sent == min(30 * (hour + 1), 40)
    other = await core.service.start(core.request(mobile("+447912345678"), tenant="t2"))
    assert other.delivered  # another tenant's budget is its own


async def test_a_refused_send_is_a_rate_limit_to_every_api() -> None:
    """The APIs answer it as they answer limits: 429 with Retry-After."""
    core = Core(ROOMY)
    with pytest.raises(RateLimited):
        await pump_until_refused(core)


async def pump_until_refused(core: Core) -> None:
    for i in range(100):
        await core.service.start(core.request(mobile(f"+4479004{i:05d}")))
