"""Rate counters and lockouts in the database, inside the request's unit of work.

Each hit is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING``, so concurrent requests
in any number of processes count exactly. With Redis configured the rate counters live
there instead (called before the unit of work opens); lockouts always live here, in
the same transaction as the failed attempt that caused them.
"""

from __future__ import annotations

import math

from otpgate.core.model import RateDecision
from otpgate.storage.database import Transaction

_HIT = (
    'INSERT INTO rate_counters ("key", "window", "count", expires_at)'
    " VALUES (:key, :window, 1, :expires_at)"
    ' ON CONFLICT ("key", "window") DO UPDATE SET "count" = rate_counters."count" + 1'
    ' RETURNING "count"'
)
_LOCK = (
    'INSERT INTO lockouts ("key", "until") VALUES (:key, :until)'
    ' ON CONFLICT ("key") DO UPDATE SET "until" = CASE WHEN lockouts."until" < excluded."until"'
    ' THEN excluded."until" ELSE lockouts."until" END'
)
_LOCKED = 'SELECT "until" FROM lockouts WHERE "key" = :key'
_COUNT = 'SELECT "count" FROM rate_counters WHERE "key" = :key AND "window" = :window'


def decision(count: int, limit: int, window: int, window_seconds: int, now: float) -> RateDecision:
    retry_after = math.ceil((window + 1) * window_seconds - now)
    return RateDecision(allowed=count <= limit, retry_after=retry_after, count=count)


class SqlCounters:
    __slots__ = ("tx",)

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def hit(self, key: str, limit: int, window_seconds: int, now: float) -> RateDecision:
        window = int(now // window_seconds)
        params = {"key": key, "window": window, "expires_at": float((window + 1) * window_seconds)}
        row = await self.tx.fetchrow(_HIT, params)
        assert row is not None
        return decision(int(row[0]), limit, window, window_seconds, now)

    async def count(self, key: str, window_seconds: int, now: float) -> int:
        row = await self.tx.fetchrow(_COUNT, {"key": key, "window": int(now // window_seconds)})
        return int(row[0]) if row is not None else 0

    async def lock(self, key: str, until: float) -> None:
        await self.tx.execute(_LOCK, {"key": key, "until": float(until)})

    async def locked_until(self, key: str, now: float) -> float | None:
        row = await self.tx.fetchrow(_LOCKED, {"key": key})
        if row is None or row[0] is None or row[0] <= now:
            return None
        return float(row[0])
