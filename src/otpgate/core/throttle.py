"""Counting requests that open no unit of work of their own (the demo page's writes).

A use case's limits are counted where the use case runs: in Redis before its unit of
work opens, or inside it when Redis cannot count. A request that only wants to know
whether it may go on (the demo page, before it forwards a write to the real API) has no
unit of work to count in: :class:`Throttle` counts in the outside limiter, and when that
cannot count, in a short unit of work of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from otpgate.core.clock import Clock
from otpgate.core.model import RateDecision
from otpgate.core.ports import Limiter
from otpgate.core.uow import UnitOfWork


class Throttle:
    def __init__(self, limiter: Limiter, uow: Callable[[], UnitOfWork], clock: Clock) -> None:
        self.limiter = limiter
        self.uow = uow
        self.clock = clock

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        """Count one event against ``key``: allowed while fewer than ``limit`` are in the
        window."""
        now = self.clock.now()
        decision = await self.limiter.hit(key, limit, window_seconds, now)
        if decision is not None:
            return decision
        async with self.uow() as uow:
            decision = await uow.counters.hit(key, limit, window_seconds, now)
            await uow.commit()
        return decision
