"""One contract, every backend: the same tests run against memory, SQLite, PostgreSQL, Redis.

``store`` is a SessionStore (memory, sqlite, postgres); ``limiter`` is a Limiter
(memory, sqlite, postgres, redis, and Redis-with-database-fallback). Backend ids show
in test names, e.g. ``test_claim_attempt_counts_to_the_limit[postgres]``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.core.clock import FakeClock
from otpgate.core.codes import Keyring
from otpgate.core.memory import InMemoryLimiter, InMemoryStore, RecordingCourier
from otpgate.core.model import Policy
from otpgate.core.ports import Limiter
from otpgate.core.service import OtpService
from otpgate.storage.db import create_engine
from otpgate.storage.fallback import FallbackLimiter
from otpgate.storage.limiter import SqlLimiter
from otpgate.storage.redis_limiter import RedisLimiter, connect
from otpgate.storage.sessions import SqlSessionStore

STORES = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
]
LIMITERS = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis+postgres", marks=[pytest.mark.redis, pytest.mark.postgres]),
]


async def _engine(request: pytest.FixtureRequest, kind: str) -> AsyncEngine:
    url = request.getfixturevalue("pg_url" if kind == "postgres" else "sqlite_url")
    return create_engine(url, pool_size=20, max_overflow=20)


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[InMemoryStore | SqlSessionStore]:
    if request.param == "memory":
        yield InMemoryStore()
        return
    engine = await _engine(request, request.param)
    try:
        yield SqlSessionStore(engine)
    finally:
        await engine.dispose()


@pytest.fixture(params=LIMITERS)
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    kind: str = request.param
    if kind == "memory":
        yield InMemoryLimiter()
        return
    redis = None
    if kind.startswith("redis"):
        prefix = request.getfixturevalue("redis_prefix")
        redis = RedisLimiter(connect(request.getfixturevalue("redis_url")), prefix=prefix)
    if kind == "redis":
        assert redis is not None
        yield redis
        await redis.close()
        return
    engine = await _engine(request, "postgres" if "postgres" in kind else "sqlite")
    try:
        if redis is not None:
            yield FallbackLimiter(redis, SqlLimiter(engine))
        else:
            yield SqlLimiter(engine)
    finally:
        await engine.dispose()
        if redis is not None:
            await redis.close()


class Backend:
    """The core service over one backend's store and limiter, with a recording courier."""

    def __init__(self, store: Any, limiter: Limiter, policy: Policy) -> None:
        self.clock = FakeClock(start=time.time())
        self.courier = RecordingCourier()
        self.store = store
        self.service = OtpService(
            store=store,
            limiter=limiter,
            courier=self.courier,
            keyring=Keyring({"k1": b"k" * 32}, current="k1"),
            clock=self.clock,
            policy=policy,
            audit=store,
            deliveries=store,
        )


BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
]
# Verifications are not rate limited here, so the attempt limit is what stops guesses.
POLICY = Policy(verify_limit_per_minute=1000, send_limit_per_minute=5)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    kind: str = request.param
    if kind == "memory":
        yield Backend(InMemoryStore(), InMemoryLimiter(), POLICY)
        return
    engine = await _engine(request, "sqlite" if kind == "sqlite" else "postgres")
    limiter: Limiter = SqlLimiter(engine)
    redis = None
    if kind.endswith("+redis"):
        prefix = request.getfixturevalue("redis_prefix")
        redis = RedisLimiter(connect(request.getfixturevalue("redis_url")), prefix=prefix)
        limiter = FallbackLimiter(redis, limiter)
    try:
        yield Backend(SqlSessionStore(engine), limiter, POLICY)
    finally:
        await engine.dispose()
        if redis is not None:
            await redis.close()
