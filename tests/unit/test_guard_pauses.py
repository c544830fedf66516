"""Conversion pauses as the core stores them: written in the send that trips them, in
force for exactly the cool-off (whatever the counters do meanwhile), per tenant and
environment, and lifted early by an operator."""

from __future__ import annotations

import pytest

from otpgate.core.errors import PausedForRisk
from otpgate.core.guard_admin import GuardAdmin, Target
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.guard_types import GuardScope
from otpgate.core.model import Destination, DestinationKind, Environment, Policy

from .conftest import Core
from .test_guard_core import settle

COOLOFF = 3 * 3600  # six 30-minute windows: the counters are long gone before it ends
SETTINGS = GuardSettings(
    prefix_sends_per_hour=10_000,
    country_sends_per_hour=10_000,
    conversion_cooloff_seconds=COOLOFF,
)
PREFIX = "+44790010"


def number(i: int, prefix: str = PREFIX) -> Destination:
    return Destination(DestinationKind.PHONE, f"{prefix}{i:04d}", "GB", "mobile", "44")


def core() -> Core:
    return Core(Policy(send_limit_per_minute=1000), SETTINGS)


async def send(c: Core, i: int, prefix: str = PREFIX, **kw: object) -> bool:
    request = c.request(number(i, prefix), **kw)  # type: ignore[arg-type]
    return (await c.service.start(request)).delivered


async def trip(c: Core) -> None:
    """20 unverified sends to the prefix: the 20th stores the pause, and goes out."""
    for i in range(20):
        assert await send(c, i)


async def test_a_pause_lasts_the_cooloff_not_less_and_not_more() -> None:
    c = core()
    await trip(c)
    start = c.clock.now()
    with pytest.raises(PausedForRisk) as refused:
        await send(c, 20)
    assert refused.value.retry_after == COOLOFF
    c.clock.advance(COOLOFF - 1)  # the conversion windows rolled past long ago
    with pytest.raises(PausedForRisk) as refused:
        await send(c, 21)
    assert refused.value.retry_after == 1
    c.clock.advance(1)
    assert c.clock.now() == start + COOLOFF
    assert await send(c, 22)
    assert len(c.courier.messages) == 21


async def test_the_pause_is_audited_with_the_send_that_started_it() -> None:
    c = core()
    await trip(c)
    with pytest.raises(PausedForRisk):
        await send(c, 20)
    await settle()
    paused = [e for e in c.store.events if e.action == "guard.paused"]
    assert [(e.subject_type, e.subject_id, e.detail) for e in paused] == [
        (
            "prefix",
            PREFIX,
            {
                "reasons": ["prefix_conversion"],
                "environment": "production",
                "until": c.clock.now() + COOLOFF,
            },
        )
    ]
    [refused] = [e for e in c.store.events if e.action == "send.refused"]
    assert refused.detail == {"reasons": ["prefix_conversion"], "country": "GB"}


async def test_a_pause_covers_its_tenant_environment_and_range_only() -> None:
    c = core()
    await trip(c)
    assert await send(c, 30, tenant="t2")
    assert await send(c, 31, environment=Environment.SANDBOX)
    other = Destination(DestinationKind.PHONE, "+447902000001", "GB", "mobile", "44")
    assert (await c.service.start(c.request(other))).delivered


async def test_a_country_pause_covers_every_prefix_of_the_country() -> None:
    c = Core(
        Policy(send_limit_per_minute=1000),
        GuardSettings(
            prefix_sends_per_hour=10_000,
            country_sends_per_hour=10_000,
            country_conversion_min_sends=30,
        ),
    )
    for i in range(30):  # 30 ranges, one send each: no prefix reaches its floor
        assert await send(c, 0, prefix=f"+44790{i:03d}")
    with pytest.raises(PausedForRisk):
        await send(c, 1, prefix="+44799999")
    us = Destination(DestinationKind.PHONE, "+14155550100", "US", "mobile", "1")
    assert (await c.service.start(c.request(us))).delivered


async def test_an_operator_lifts_a_pause_and_the_range_starts_afresh() -> None:
    c = core()
    await trip(c)
    status = await GuardAdmin(c.otp, c.uow).status("t1")
    [pause] = status.pauses
    assert (pause.environment, pause.scope, pause.value) == ("production", "prefix", PREFIX)
    undone = await GuardAdmin(c.otp, c.uow).unblock("t1", Target(GuardScope.PREFIX, PREFIX))
    assert (undone.entry, undone.pauses, undone.lockout) == (False, ["production"], False)
    # The conversion counts that caused it are forgotten: 19 more go out, the 20th pauses.
    for i in range(100, 120):
        assert await send(c, i)
    with pytest.raises(PausedForRisk):
        await send(c, 120)


async def test_verified_codes_keep_a_range_open() -> None:
    c = core()
    for i in range(200):
        sent = await c.service.start(c.request(number(i)))
        if i % 5 == 0:  # one in five entered: 20 %, above the 10 % threshold
            assert (await c.service.verify("t1", sent.session.id, c.courier.last_code())).ok
    assert len(c.courier.messages) == 200
