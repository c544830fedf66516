"""What happens when Redis goes away mid-traffic: the limiter counts in the database.

A ``redis-server`` of the test's own is killed between requests; limits and lockouts
keep holding (from the database), and once Redis is back the limiter uses it again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from otpgate.adapters.redis.limiter import RedisLimiter, connect
from otpgate.adapters.sql import migrate
from otpgate.adapters.sql.database import PostgresDatabase, SqliteDatabase
from otpgate.adapters.sql.db import is_sqlite, sqlite_path
from otpgate.adapters.sql.fallback import RedisFirst
from otpgate.adapters.sql.sealed import Sealer
from otpgate.adapters.sql.uow import SqlUnitOfWorkFactory
from otpgate.core.ports import NoLimiter
from otpgate.settings import Settings
from otpgate.testing.app import running_app
from tests.contract.conftest import Counting
from tests.support.redis_server import RedisServer
from tests.support.server import free_port

pytestmark = pytest.mark.redis


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def sql(db_url: str) -> AsyncIterator[Counting]:
    migrate.upgrade(db_url)
    database = SqliteDatabase(sqlite_path(db_url)) if is_sqlite(db_url) else None
    if database is None:
        pg = PostgresDatabase(db_url)
        await pg.open()
        database = pg
    try:
        yield Counting(
            SqlUnitOfWorkFactory(database, Sealer([b"d" * 32], lookup_key=b"l" * 32)), NoLimiter()
        )
    finally:
        await database.close()


async def test_counts_move_to_the_database_when_redis_dies_and_back_after(
    redis_server: RedisServer, sql: Counting
) -> None:
    redis = RedisLimiter(connect(redis_server.url), prefix="t:")
    mono = Clock()
    first = RedisFirst(redis, retry_seconds=5, monotonic=mono)
    limiter = Counting(sql.uow, first)  # Redis first, the database's counters behind it
    key, now = f"send:{uuid.uuid4()}", (int(time.time() // 60) + 1) * 60.0
    try:
        assert (await limiter.hit(key, 3, 60, now)).count == 1  # in Redis
        await limiter.lock("lock:a", now + 600)  # lockouts live in the database
        redis_server.stop()

        started = time.monotonic()
        during = [await limiter.hit(key, 3, 60, now) for _ in range(4)]
        assert time.monotonic() - started < 2, "a dead Redis must not stall requests"
        assert first.primary_down
        # The database starts the window from zero: the limit still holds from there on.
        assert [d.count for d in during] == [1, 2, 3, 4]
        assert [d.allowed for d in during] == [True, True, True, False]
        assert await limiter.locked_until("lock:a", now) == now + 600
        await limiter.lock("lock:b", now + 600)  # written while Redis is down
        assert await limiter.locked_until("lock:b", now) == now + 600

        redis_server.start()
        mono.t += 6  # the retry interval has passed: Redis is tried again
        fresh = f"send:{uuid.uuid4()}"
        back = await limiter.hit(fresh, 3, 60, now)
        assert back.count == 1 and not first.primary_down
        assert await redis.client.exists(f"t:rate:{fresh}:{int(now // 60)}") == 1
        # A lockout set during the outage still holds after Redis came back (empty).
        assert await limiter.locked_until("lock:b", now) == now + 600
    finally:
        await redis.close()


async def test_a_server_with_redis_unreachable_still_limits_sends(
    settings: Settings, clock
) -> None:
    """Pointing at a port where nothing listens: sends work and are limited by the database."""
    dead = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with running_app(dead, clock=clock) as h:
        async with h.client() as anon:
            ready = await anon.get("/readyz")
        assert ready.status_code == 200 and ready.json()["redis"] == "error"
        async with h.client(h.sandbox_key) as client:
            statuses = []
            for i in range(7):
                r = await client.post(
                    "/api/evaluation",
                    json={
                        "id": f"outage-{i}",
                        "workflow": "otp_verification",
                        "data": {"individual": {"phone_number": "+14155550123"}},
                    },
                )
                statuses.append(r.status_code)
        assert statuses == [200] * 5 + [429] * 2


async def test_an_outage_and_an_empty_restart_let_through_at_most_twice_the_limit(
    settings: Settings, clock, redis_server: RedisServer
) -> None:
    """Up (5 counted in Redis), down (the database counts), back empty: a destination
    gets at most twice its send limit in that minute, as the README promises."""
    live = settings.model_copy(update={"redis_url": redis_server.url, "redis_retry_seconds": 0.05})
    async with running_app(live, clock=clock) as h, h.client(h.sandbox_key) as client:
        statuses: list[int] = []

        async def send(n: int, tag: str) -> None:
            for i in range(n):
                body = {
                    "id": f"bound-{tag}-{i}",
                    "workflow": "otp_verification",
                    "data": {"individual": {"phone_number": "+14155550177"}},
                }
                statuses.append((await client.post("/api/evaluation", json=body)).status_code)

        await send(6, "up")
        redis_server.stop()
        await send(6, "down")
        redis_server.start()
        await asyncio.sleep(0.1)  # past the retry interval: Redis is used again
        await send(6, "back")
    assert statuses.count(200) <= 10, statuses
    assert statuses[:6] == [200] * 5 + [429]
