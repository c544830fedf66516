"""A scratch PostgreSQL database and a Redis key prefix for one bench run, removed for sure.

PostgreSQL on 127.0.0.1:5432 (trust auth, user ``postgres``) and Redis on
127.0.0.1:6379, as on the project's machines; ``BENCH_PG_ADMIN_URL`` and
``BENCH_REDIS_URL`` override them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class Scratch:
    database: str
    dsn: str  # for otpgate (OTPGATE_DATABASE_URL) and psycopg alike
    redis_url: str
    redis_prefix: str


def _dsn(database: str) -> str:
    base, _, _old = PG_ADMIN.rpartition("/")
    return f"{base}/{database}"


def drop_redis_keys(url: str, prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        gone = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                gone += int(client.delete(*batch))
                batch.clear()
        if batch:
            gone += int(client.delete(*batch))
        return gone
    finally:
        client.close()


@contextmanager
def scratch() -> Iterator[Scratch]:
    """A fresh ``otpgate_bench_<hex>`` database and ``otpgate-bench-<hex>:`` prefix."""
    import psycopg

    token = secrets.token_hex(6)
    name = f"otpgate_bench_{token}"
    prefix = f"otpgate-bench-{token}:"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Scratch(name, _dsn(name), REDIS, prefix)
    finally:
        try:
            gone = drop_redis_keys(REDIS, prefix)
            print(f"removed {gone} Redis keys under {prefix}", flush=True)
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"dropped database {name}", flush=True)
