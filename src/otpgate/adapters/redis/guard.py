"""The abuse guard's counters and holds in Redis, shared by every process and host.

Implements :class:`otpgate.core.guard_ports.GuardCounters` and ``GuardHolds`` with the
same fixed-window semantics as :class:`otpgate.core.guard_memory.InMemoryGuardStore`
(the guard contract suite runs against both). A tally's Redis key is
``<prefix>guard:<key>:<window_seconds>:<bucket>``; it lives until one window after its
own ends, so the previous window can still be read. Every call is one Lua script:
a whole send check costs a few round trips, each atomic on the Redis server.

Keys arrive already hashed where personal (``otpgate.core.guard_keys``). Faults are the
guard's to absorb: this adapter raises, and the guard fails open.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from otpgate.core.guard_ports import Tally

# INCR each key; give a new counter its lifetime (ARGV[i], milliseconds).
_HIT = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, ARGV[i]) end
  out[i] = n
end
return out
"""

# Keep the later of the stored and the new deadline; expire just after it (ARGV[2]).
_HOLD = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
end
return 1
"""


class RedisGuardStore:
    def __init__(self, client: Redis, prefix: str = "otpgate:") -> None:
        self.client = client
        self.prefix = prefix
        self._hit: Any = client.register_script(_HIT)
        self._hold: Any = client.register_script(_HOLD)

    def _tally_key(self, tally: Tally) -> str:
        return f"{self.prefix}guard:{tally.key}:{tally.window_seconds}:{tally.bucket}"

    async def hit(self, tallies: Sequence[Tally]) -> list[int]:
        if not tallies:
            return []
        ttls = [
            max(1, math.ceil((t.ends_at - t.at + t.window_seconds) * 1000)) + 1000 for t in tallies
        ]
        counts = await self._hit(keys=[self._tally_key(t) for t in tallies], args=ttls)
        return [int(n) for n in counts]

    async def peek(self, tallies: Sequence[Tally]) -> list[int]:
        if not tallies:
            return []
        raw = await self.client.mget([self._tally_key(t) for t in tallies])
        return [int(value) if value is not None else 0 for value in raw]

    async def hold(self, key: str, until: float) -> None:
        # Expires at the deadline on the core's clock, as RedisLimiter.lock does; a deadline
        # read back is compared with the caller's ``now``, never with Redis's clock.
        await self._hold(
            keys=[f"{self.prefix}hold:{key}"], args=[repr(float(until)), math.ceil(until) + 1]
        )

    async def held_until(self, keys: Sequence[str], now: float) -> list[float | None]:
        if not keys:
            return []
        raw = await self.client.mget([f"{self.prefix}hold:{key}" for key in keys])
        out: list[float | None] = []
        for value in raw:
            until = float(value) if value is not None else None
            out.append(until if until is not None and until > now else None)
        return out

    async def release(self, key: str) -> None:
        await self.client.delete(f"{self.prefix}hold:{key}")

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def close(self) -> None:
        await self.client.aclose()
