"""Rate limits and lockouts in Redis (``OTPGATE_REDIS_URL``), shared by every process.

Same fixed-window semantics as :class:`otpgate.adapters.sql.limiter.SqlLimiter`: the window
is ``int(now // window_seconds)`` of the core's clock, so the two limiters agree and
the store contract suite runs against both. Each operation is one Lua script, so it is
atomic on the Redis server whatever the number of processes and hosts.

The ``limits`` package was considered and not used: its strategies read the wall clock
themselves, while the core passes ``now`` in (tests drive a fake clock), and it has no
notion of a lockout deadline.
"""

from __future__ import annotations

import math
from typing import Any

from redis.asyncio import Redis

from otpgate.core.model import RateDecision

# INCR, and give a new counter a lifetime that ends just after its window.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""

# Keep the later of the stored and the new deadline; expire just after it.
_LOCK = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
end
return 1
"""


def connect(url: str, timeout: float = 0.5) -> Redis:
    """A client that gives up quickly: a missing Redis must not stall requests."""
    client: Redis = Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        health_check_interval=30,
    )
    return client


class RedisLimiter:
    def __init__(self, client: Redis, prefix: str = "otpgate:") -> None:
        self.client = client
        self.prefix = prefix
        self._hit: Any = client.register_script(_HIT)
        self._lock: Any = client.register_script(_LOCK)

    async def hit(self, key: str, limit: int, window_seconds: int, now: float) -> RateDecision:
        window = int(now // window_seconds)
        window_end = (window + 1) * window_seconds
        ttl_ms = max(1, math.ceil((window_end - now) * 1000)) + 1000
        count = int(await self._hit(keys=[f"{self.prefix}rate:{key}:{window}"], args=[ttl_ms]))
        retry_after = math.ceil(window_end - now)
        return RateDecision(allowed=count <= limit, retry_after=retry_after, count=count)

    async def lock(self, key: str, until: float) -> None:
        await self._lock(
            keys=[f"{self.prefix}lock:{key}"], args=[repr(float(until)), math.ceil(until) + 1]
        )

    async def locked_until(self, key: str, now: float) -> float | None:
        raw = await self.client.get(f"{self.prefix}lock:{key}")
        if raw is None:
            return None
        until = float(raw)
        return until if until > now else None

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def close(self) -> None:
        await self.client.aclose()
