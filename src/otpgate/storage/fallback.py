"""Redis first, the database when Redis is unreachable: what otpgate does on a Redis outage.

Rate counters (``hit``) go to Redis. When a Redis call fails, the limiter logs it once,
counts in the database instead (the same atomic, cross-process fixed window), and
tries Redis again after ``retry_seconds``. Sends and verifications keep working and
keep being limited; the price is that the counts of the window in which the switch
happens start again from zero, so for that one window a destination can get up to
twice its limit (and two processes that disagree on whether Redis is up split it).

Lockouts are rare and matter more, so they are written to both and read from both:
a lockout survives a Redis outage, a Redis restart without persistence, and recovery.

Attempt counting (at most ``max_attempts`` guesses per session) does not depend on
the limiter at all: it is an atomic update in the session store.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from redis.exceptions import RedisError

from otpgate.core.model import RateDecision
from otpgate.core.ports import Limiter

log = structlog.get_logger("otpgate.limiter")

FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


class FallbackLimiter:
    def __init__(
        self,
        primary: Limiter,
        fallback: Limiter,
        *,
        retry_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._down_until = 0.0

    @property
    def primary_down(self) -> bool:
        return self._monotonic() < self._down_until

    def _failed(self, operation: str, exc: BaseException) -> None:
        if not self.primary_down:
            log.warning(
                "limiter.primary_unavailable", operation=operation, error=type(exc).__name__
            )
        self._down_until = self._monotonic() + self.retry_seconds

    async def hit(self, key: str, limit: int, window_seconds: int, now: float) -> RateDecision:
        if not self.primary_down:
            try:
                return await self.primary.hit(key, limit, window_seconds, now)
            except FAILURES as exc:
                self._failed("hit", exc)
        return await self.fallback.hit(key, limit, window_seconds, now)

    async def lock(self, key: str, until: float) -> None:
        await self.fallback.lock(key, until)
        if not self.primary_down:
            try:
                await self.primary.lock(key, until)
            except FAILURES as exc:
                self._failed("lock", exc)

    async def locked_until(self, key: str, now: float) -> float | None:
        if not self.primary_down:
            try:
                until = await self.primary.locked_until(key, now)
            except FAILURES as exc:
                self._failed("locked_until", exc)
            else:
                if until is not None:
                    return until
        return await self.fallback.locked_until(key, now)
