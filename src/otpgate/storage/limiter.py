"""Rate limits and lockouts kept in the database (the default when no Redis is set).

Each hit is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement, so
concurrent requests in any number of processes count exactly.
"""

from __future__ import annotations

import math

from sqlalchemy import bindparam, case, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.core.model import RateDecision
from otpgate.storage.lease import begin, read, scalar, scalar_one, write
from otpgate.storage.tables import lockouts, rate_counters
from otpgate.storage.upsert import insert_for


class SqlLimiter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Built once: the hit is on every send and every verification.
        self._hit = (
            insert_for(engine, rate_counters)
            .values(
                key=bindparam("key"),
                window=bindparam("window"),
                count=1,
                expires_at=bindparam("expires_at"),
            )
            .on_conflict_do_update(
                index_elements=["key", "window"], set_={"count": rate_counters.c.count + 1}
            )
            .returning(rate_counters.c.count)
        )
        self._locked = select(lockouts.c.until).where(lockouts.c.key == bindparam("key"))

    async def hit(self, key: str, limit: int, window_seconds: int, now: float) -> RateDecision:
        window = int(now // window_seconds)
        params = {"key": key, "window": window, "expires_at": (window + 1) * window_seconds}
        count = int(await write(self.engine, scalar_one, self._hit, params))
        retry_after = math.ceil((window + 1) * window_seconds - now)
        return RateDecision(allowed=count <= limit, retry_after=retry_after, count=count)

    async def lock(self, key: str, until: float) -> None:
        stmt = insert_for(self.engine, lockouts).values(key=key, until=until)
        later = case(
            (lockouts.c.until < stmt.excluded.until, stmt.excluded.until), else_=lockouts.c.until
        )
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"until": later})
        async with begin(self.engine) as conn:
            await conn.execute(stmt)

    async def locked_until(self, key: str, now: float) -> float | None:
        until = await read(self.engine, scalar, self._locked, {"key": key})
        return float(until) if until is not None and until > now else None

    async def purge(self, now: float) -> int:
        async with begin(self.engine) as conn:
            a = await conn.execute(delete(rate_counters).where(rate_counters.c.expires_at < now))
            b = await conn.execute(delete(lockouts).where(lockouts.c.until < now))
        return int(a.rowcount + b.rowcount)
