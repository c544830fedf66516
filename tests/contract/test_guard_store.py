"""The guard's counter and hold ports: one contract over the in-memory fake and Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from otpgate.adapters.redis.guard import RedisGuardStore
from otpgate.adapters.redis.limiter import connect
from otpgate.core.guard import Guard, GuardReason
from otpgate.core.guard_memory import InMemoryGuardLists, InMemoryGuardStore
from otpgate.core.guard_ports import Tally
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.guard_types import GuardSubject
from otpgate.core.model import Destination, DestinationKind, Environment

GUARD_STORES = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(params=GUARD_STORES)
async def guard_store(
    request: pytest.FixtureRequest,
) -> AsyncIterator[InMemoryGuardStore | RedisGuardStore]:
    if request.param == "memory":
        yield InMemoryGuardStore()
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix") + uuid.uuid4().hex[:8] + ":"
    store = RedisGuardStore(connect(url), prefix=prefix)
    try:
        yield store
    finally:
        await store.close()


NOW = time.time()


async def test_hit_counts_per_key_and_window(guard_store: InMemoryGuardStore) -> None:
    hour, day = Tally("a", 3_600, NOW), Tally("a", 86_400, NOW)
    assert await guard_store.hit([hour, day, Tally("b", 3_600, NOW)]) == [1, 1, 1]
    assert await guard_store.hit([hour, hour]) == [2, 3]
    assert await guard_store.peek([hour, day, Tally("c", 60, NOW)]) == [3, 1, 0]
    later = Tally("a", 3_600, hour.ends_at)
    assert await guard_store.peek([later]) == [0]
    assert await guard_store.hit([later]) == [1]
    assert await guard_store.peek([hour]) == [3]  # the previous window is still readable
    assert await guard_store.hit([]) == [] and await guard_store.peek([]) == []


async def test_concurrent_hits_each_get_their_own_count(guard_store: InMemoryGuardStore) -> None:
    tally = Tally("race", 3_600, NOW)
    counts = await asyncio.gather(*(guard_store.hit([tally]) for _ in range(50)))
    assert sorted(c for (c,) in counts) == list(range(1, 51))


async def test_holds_keep_the_later_deadline_and_lift(guard_store: InMemoryGuardStore) -> None:
    await guard_store.hold("h", NOW + 100)
    await guard_store.hold("h", NOW + 50)
    assert await guard_store.held_until(["h", "none"], NOW) == [NOW + 100, None]
    assert await guard_store.held_until(["h"], NOW + 100) == [None]
    await guard_store.release("h")
    assert await guard_store.held_until(["h"], NOW) == [None]


async def test_a_guard_on_this_store_pauses_pumping(guard_store: InMemoryGuardStore) -> None:
    settings = GuardSettings(prefix_sends_per_hour=1_000, prefix_conversion_min_sends=20)
    guard = Guard(settings, guard_store, guard_store, InMemoryGuardLists(), lambda v: v[::-1])
    sent = 0
    for i in range(100):
        number = Destination(DestinationKind.PHONE, f"+44740012{i:04d}", "GB", "mobile", "44")
        subject = GuardSubject(f"t-{id(guard_store)}", Environment.PRODUCTION, number)
        decision = await guard.check_send(subject, NOW + i)
        sent += decision.allowed
        assert not decision.failed_open
    assert sent == 20
    assert decision.reasons[0] is GuardReason.PREFIX_CONVERSION
