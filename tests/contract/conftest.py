"""One contract, every backend: the same tests run against memory, SQLite, PostgreSQL, Redis.

``store`` is the session repository, each call in a unit of work of its own (memory,
sqlite, postgres): concurrent calls are concurrent transactions, on PostgreSQL on
separate connections. ``limiter`` counts as the core does (memory, sqlite and postgres
counters inside a unit of work; Redis; Redis first with PostgreSQL behind it).
Backend ids show in test names, e.g. ``test_claim_attempt_counts_to_the_limit[postgres]``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from otpgate.adapters.redis.limiter import RedisLimiter, connect
from otpgate.adapters.sql.database import Database, PostgresDatabase, SqliteDatabase
from otpgate.adapters.sql.db import sqlite_path
from otpgate.adapters.sql.fallback import RedisFirst
from otpgate.adapters.sql.sealed import Sealer
from otpgate.adapters.sql.uow import SqlUnitOfWorkFactory
from otpgate.core.clock import FakeClock
from otpgate.core.codes import Keyring
from otpgate.core.memory import RecordingCourier
from otpgate.core.model import Policy, RateDecision
from otpgate.core.ports import Limiter, NoLimiter
from otpgate.core.service import OtpService, Precount, SendResult, VerifyResult
from otpgate.core.session import SessionState, VerificationSession
from otpgate.testing.fakes import MemoryUnitOfWorkFactory

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
Factory = Any


async def open_factory(
    request: pytest.FixtureRequest, kind: str
) -> tuple[Factory, Database | None]:
    if kind == "memory":
        return MemoryUnitOfWorkFactory(), None
    if kind == "sqlite":
        db: Database = SqliteDatabase(sqlite_path(request.getfixturevalue("sqlite_url")))
    else:
        pg = PostgresDatabase(request.getfixturevalue("pg_url"), min_size=1, max_size=40)
        await pg.open()
        db = pg
    return SqlUnitOfWorkFactory(db, Sealer([b"d" * 32], lookup_key=b"l" * 32)), db


class AutoStore:
    """The session repository with each call in a unit of work of its own, committed."""

    def __init__(self, uow: Factory) -> None:
        self.uow = uow

    async def create_session(self, session: VerificationSession) -> None:
        async with self.uow() as uow:
            await uow.sessions.create(session)
            await uow.commit()

    async def get_session(self, tenant_id: str, session_id: str) -> VerificationSession | None:
        async with self.uow() as uow:
            found: VerificationSession | None = await uow.sessions.get(tenant_id, session_id)
            return found

    async def claim_attempt(self, session_id: str, now: float) -> int | None:
        async with self.uow() as uow:
            claimed = await uow.sessions.claim_attempt(session_id, now)
            await uow.commit()
        return claimed.attempts if claimed is not None else None

    async def transition(
        self, session_id: str, source: SessionState, target: SessionState, now: float
    ) -> bool:
        async with self.uow() as uow:
            moved: bool = await uow.sessions.transition(session_id, source, target, now)
            await uow.commit()
        return moved

    async def count_send(self, session_id: str) -> None:
        async with self.uow() as uow:
            await uow.sessions.count_send(session_id)
            await uow.commit()


@pytest.fixture(params=STORES)
async def uow(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    """A unit-of-work factory on each store."""
    factory, db = await open_factory(request, request.param)
    yield factory
    if db is not None:
        await db.close()


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[AutoStore]:
    factory, db = await open_factory(request, request.param)
    try:
        yield AutoStore(factory)
    finally:
        if db is not None:
            await db.close()


class Counting:
    """Counts as the core does: the outside limiter first, else the database's counters
    inside a unit of work; lockouts always in the database."""

    def __init__(self, uow: Factory, outside: Limiter) -> None:
        self.uow = uow
        self.outside = outside

    async def hit(self, key: str, limit: int, window_seconds: int, now: float) -> RateDecision:
        pre = await self.outside.hit(key, limit, window_seconds, now)
        if pre is not None:
            return pre
        async with self.uow() as uow:
            decision: RateDecision = await uow.counters.hit(key, limit, window_seconds, now)
            await uow.commit()
        return decision

    async def lock(self, key: str, until: float) -> None:
        async with self.uow() as uow:
            await uow.counters.lock(key, until)
            await uow.commit()

    async def locked_until(self, key: str, now: float) -> float | None:
        async with self.uow() as uow:
            until: float | None = await uow.counters.locked_until(key, now)
            return until


@pytest.fixture(params=LIMITERS)
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    kind: str = request.param
    redis = None
    if kind.startswith("redis"):
        prefix = request.getfixturevalue("redis_prefix")
        redis = RedisLimiter(connect(request.getfixturevalue("redis_url")), prefix=prefix)
    if kind == "redis":
        assert redis is not None
        yield redis
        await redis.close()
        return
    factory, db = await open_factory(request, "postgres" if "postgres" in kind else kind)
    outside: Limiter = RedisFirst(redis) if redis is not None else NoLimiter()
    try:
        yield Counting(factory, outside)
    finally:
        if db is not None:
            await db.close()
        if redis is not None:
            await redis.close()


class Backend:
    """The core service over one backend, with a recording courier; each call below is
    one request: its own units of work, as the flows open them."""

    def __init__(self, uow: Factory, limiter: Limiter, policy: Policy) -> None:
        self.clock = FakeClock(start=time.time())
        self.courier = RecordingCourier()
        self.uow = uow
        self.service = OtpService(
            uow=uow,
            limiter=limiter,
            courier=self.courier,
            keyring=Keyring({"k1": b"k" * 32}, current="k1", lookup_key=b"l" * 32),
            clock=self.clock,
            policy=policy,
        )

    async def start(self, request: Any) -> SendResult:
        return await self.service.start(request)

    async def verify(self, tenant_id: str, session_id: str, code: str) -> VerifyResult:
        now = self.clock.now()
        pre = await self.service.precount_verify(session_id, now)
        async with self.uow() as uow:
            result = await self.service.verify(
                uow, tenant_id, session_id, code, now, subject=session_id, pre=pre
            )
            await uow.commit()
        return result

    async def resend(self, tenant_id: str, session_id: str) -> SendResult:
        now = self.clock.now()
        async with self.uow() as uow:
            session = await self.service.get(uow, tenant_id, session_id)
        pre: Precount = await self.service.precount(session.destination_key, now)
        async with self.uow() as uow:
            dispatch = await self.service.redeliver(uow, tenant_id, session_id, now, pre)
            await uow.commit()
        result = await self.service.send(dispatch)
        async with self.uow() as uow:
            await self.service.record(uow, dispatch, result, now)
            session = await self.service.get(uow, tenant_id, session_id)
            await uow.commit()
        return SendResult(session, result)

    async def get(self, tenant_id: str, session_id: str) -> VerificationSession:
        async with self.uow() as uow:
            return await self.service.get(uow, tenant_id, session_id)


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
    factory, db = await open_factory(request, kind.split("+")[0])
    limiter: Limiter = NoLimiter()
    redis = None
    if kind.endswith("+redis"):
        prefix = request.getfixturevalue("redis_prefix")
        redis = RedisLimiter(connect(request.getfixturevalue("redis_url")), prefix=prefix)
        limiter = RedisFirst(redis)
    try:
        yield Backend(factory, limiter, POLICY)
    finally:
        if db is not None:
            await db.close()
        if redis is not None:
            await redis.close()
