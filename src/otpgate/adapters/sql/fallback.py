"""Redis first, the database when Redis is unreachable: what otpgate does on a Redis outage.

Rate counters go to Redis before the request's unit of work opens. When a Redis call
fails, :class:`RedisFirst` logs it once and answers ``None`` for ``retry_seconds``: the
core then counts in the database, inside the unit of work (the same atomic,
cross-process fixed window). Sends and verifications keep working and keep being
limited; the price is that the counts of the window in which the switch happens start
again from zero, so for that one window a destination can get up to twice its limit.

Lockouts and attempt counts never depend on Redis: they are rows in the database,
written in the transaction of the failed attempt that caused them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from redis.exceptions import RedisError

from otpgate.adapters.redis.limiter import RedisLimiter
from otpgate.core.model import RateDecision

log = structlog.get_logger("otpgate.limiter")

FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


class RedisFirst:
    def __init__(
        self,
        redis: RedisLimiter,
        *,
        retry_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        on_fallback: Callable[[], None] | None = None,
    ) -> None:
        self.redis = redis
        self.retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._down_until = 0.0
        self._on_fallback = on_fallback

    @property
    def primary_down(self) -> bool:
        return self._monotonic() < self._down_until

    async def hit(
        self, key: str, limit: int, window_seconds: int, now: float
    ) -> RateDecision | None:
        if self.primary_down:
            return None
        try:
            return await self.redis.hit(key, limit, window_seconds, now)
        except FAILURES as exc:
            log.warning("limiter.primary_unavailable", operation="hit", error=type(exc).__name__)
            self._down_until = self._monotonic() + self.retry_seconds
            if self._on_fallback is not None:
                self._on_fallback()
            return None
