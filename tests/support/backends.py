"""Fixtures for the real backends: a fresh PostgreSQL database and a Redis namespace per run.

Loaded from ``tests/conftest.py`` (``pytest_plugins``). On a laptop without the
servers the tests that need them skip; under ``CI=true`` they fail.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from otpgate.adapters.redis.limiter import RedisLimiter, connect
from otpgate.adapters.sql import migrate
from tests.support.pgdb import fresh_database
from tests.support.services import require_postgres, require_redis


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database of its own for this test run (dropped afterwards)."""
    with fresh_database(require_postgres()) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("contract") / "otpgate.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    return require_redis()


@pytest.fixture(scope="session")
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key namespace of this run's own; its keys are deleted afterwards."""
    prefix = f"otpgate-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def redis_limiter(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisLimiter]:
    limiter = RedisLimiter(connect(redis_url), prefix=redis_prefix)
    try:
        yield limiter
    finally:
        await limiter.close()
