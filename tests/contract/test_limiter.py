"""The Limiter contract, run against memory, SQLite, PostgreSQL, Redis and Redis+database."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any as Limiter

N = 30


def key() -> str:
    return f"send:{uuid.uuid4()}"


def window_start(window: int = 60) -> float:
    """A moment at the start of a window, so a test never straddles two."""
    return (int(time.time() // window) + 1) * window + 0.25


async def test_hits_are_allowed_up_to_the_limit(limiter: Limiter) -> None:
    k, now = key(), window_start()
    decisions = [await limiter.hit(k, 3, 60, now + i) for i in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.count for d in decisions] == [1, 2, 3, 4, 5]
    assert decisions[3].retry_after == 57  # hit at 3.25 s into the window: 56.75 s left


async def test_a_new_window_starts_from_zero(limiter: Limiter) -> None:
    k, now = key(), window_start()
    for _ in range(3):
        await limiter.hit(k, 2, 60, now)
    later = await limiter.hit(k, 2, 60, now + 60)
    assert later.allowed and later.count == 1


async def test_keys_and_window_lengths_count_separately(limiter: Limiter) -> None:
    a, b, now = key(), key(), window_start(3600)
    await limiter.hit(a, 1, 60, now)
    assert (await limiter.hit(b, 1, 60, now)).allowed
    assert (await limiter.hit(a, 1, 3600, now)).allowed
    assert not (await limiter.hit(a, 1, 60, now)).allowed


async def test_a_lock_holds_until_its_deadline(limiter: Limiter) -> None:
    k, now = f"lock:{uuid.uuid4()}", time.time()
    assert await limiter.locked_until(k, now) is None
    await limiter.lock(k, now + 600.5)
    assert await limiter.locked_until(k, now) == now + 600.5
    assert await limiter.locked_until(k, now + 600) == now + 600.5
    assert await limiter.locked_until(k, now + 600.5) is None


async def test_a_lock_is_never_shortened(limiter: Limiter) -> None:
    k, now = f"lock:{uuid.uuid4()}", time.time()
    await limiter.lock(k, now + 600)
    await limiter.lock(k, now + 60)
    assert await limiter.locked_until(k, now + 100) == now + 600
    await limiter.lock(k, now + 900)
    assert await limiter.locked_until(k, now + 700) == now + 900


async def test_concurrent_hits_admit_exactly_the_limit(limiter: Limiter) -> None:
    k, now = key(), window_start()
    decisions = await asyncio.gather(*(limiter.hit(k, 5, 60, now) for _ in range(N)))
    assert sum(d.allowed for d in decisions) == 5
    assert sorted(d.count for d in decisions) == list(range(1, N + 1))
