"""Rate counters and lockouts in the database, inside the request's unit of work.

Each hit is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING``, so concurrent requests
in any number of processes count exactly. With Redis configured the rate counters live
there instead (called before the unit of work opens); lockouts always live here, in
the same transaction as the failed attempt that caused them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from otpgate.adapters.sql.database import Transaction
from otpgate.core.model import RateDecision

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


def _hit_many_sql(n: int) -> str:
    rows = ", ".join(f"(:k{i}, :w{i}, 1, :e{i})" for i in range(n))
    return (
        f'INSERT INTO rate_counters ("key", "window", "count", expires_at) VALUES {rows}'  # noqa: S608
        ' ON CONFLICT ("key", "window") DO UPDATE SET "count" = rate_counters."count" + 1'
        ' RETURNING "key", "count"'
    )


def _counts_sql(keys: int, windows: int) -> str:
    names = ", ".join(f":k{i}" for i in range(keys))
    wins = ", ".join(f":w{i}" for i in range(windows))
    return (
        'SELECT "key", "window", "count" FROM rate_counters'  # noqa: S608
        f' WHERE "key" IN ({names}) AND "window" IN ({wins})'
    )


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

    async def hit_many(self, tallies: Sequence[tuple[str, int]], now: float) -> list[int]:
        """One statement for every counter (SQLite and PostgreSQL both take a multi-row
        upsert with ``RETURNING``; the keys must be distinct)."""
        params: dict[str, object] = {}
        for i, (key, window_seconds) in enumerate(tallies):
            window = int(now // window_seconds)
            params |= {f"k{i}": key, f"w{i}": window}
            params[f"e{i}"] = float((window + 1) * window_seconds)
        rows = await self.tx.fetch(_hit_many_sql(len(tallies)), params)
        counts = {row[0]: int(row[1]) for row in rows}
        return [counts[key] for key, _ in tallies]

    async def counts(
        self, keys: Sequence[str], window_seconds: int, windows: Sequence[int]
    ) -> dict[tuple[str, int], int]:
        params: dict[str, object] = {f"k{i}": k for i, k in enumerate(keys)}
        params |= {f"w{i}": w for i, w in enumerate(windows)}
        rows = await self.tx.fetch(_counts_sql(len(keys), len(windows)), params)
        return {(row[0], int(row[1])): int(row[2]) for row in rows}

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
