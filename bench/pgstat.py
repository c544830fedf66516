"""Transactions and round trips per evaluation request on PostgreSQL, one request at a time.

``python bench/pgstat.py [postgresql://user@host/db]`` makes a scratch database on that
server (default: the local ``test``), runs each flow 100 times through the app in-process
and prints, per request, the commits and rollbacks the server's own ``pg_stat_database``
counted, and the round trips the unit of work made (BEGIN, each statement, COMMIT or
ROLLBACK). PostgreSQL flushes a backend's counters when it has been idle for a while, so
each flow is followed by a pause of 11.5 s.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src")]
sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

import psycopg  # noqa: E402
from tests.support.pgdb import fresh_database  # noqa: E402

from otpgate.adapters.sql import database, migrate  # noqa: E402
from otpgate.settings import Settings  # noqa: E402
from otpgate.testing.app import running_app  # noqa: E402

N = 100
FLUSH_SECONDS = 11.5
TRIPS = {"n": 0}


def _counted(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        TRIPS["n"] += 1
        return await method(*args, **kwargs)

    return wrapper


for _name in ("fetchrow", "fetch", "execute"):
    setattr(
        database._PostgresTransaction,
        _name,
        _counted(getattr(database._PostgresTransaction, _name)),
    )
for _name in ("begin", "commit", "rollback"):
    setattr(database.PostgresDatabase, _name, _counted(getattr(database.PostgresDatabase, _name)))


def server_counts(url: str) -> tuple[int, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def main(server: str) -> None:
    with fresh_database(server, prefix="otpgate_pgstat") as url:
        migrate.upgrade(url)
        settings = Settings(
            database_url=url,
            log_level="warning",
            key_cache_seconds=3600,
            code_secret=base64.b64encode(secrets.token_bytes(32)).decode(),
            lookup_key=base64.b64encode(secrets.token_bytes(32)).decode(),
            # As make bench: the guard on, its thresholds out of the way (bench/procs.py).
            guard_prefix_sends_per_hour=10_000_000,
            guard_country_sends_per_hour=10_000_000,
            guard_tenant_sends_per_hour=10_000_000,
            guard_prefix_conversion_min_sends=10_000_000,
            guard_country_conversion_min_sends=10_000_000,
            _env_file=None,  # type: ignore[call-arg]
        )
        async with running_app(settings) as h, h.client(h.sandbox_key) as c:
            body = {"id": "warm", "workflow": "otp_verification"}
            body["data"] = {"individual": {"phone_number": "+14155550000"}}
            await c.post("/api/evaluation", json=body)  # key and tenant caches warm
            ids: list[str] = []

            async def measure(name: str, call: Callable[[int], Awaitable[Any]]) -> None:
                await asyncio.sleep(FLUSH_SECONDS)
                commits, rollbacks = server_counts(url)
                TRIPS["n"] = 0
                for i in range(N):
                    await call(i)
                trips = TRIPS["n"] / N
                await asyncio.sleep(FLUSH_SECONDS)
                commits2, rollbacks2 = server_counts(url)
                # The measuring connection's own read is one more commit.
                print(
                    f"{name:11} {(commits2 - commits - 1) / N:4.2f} commits"
                    f" {(rollbacks2 - rollbacks) / N:4.2f} rollbacks  {trips:4.1f} round trips"
                )

            async def start(i: int) -> None:
                individual = {"phone_number": f"+1415{2_000_000 + i:07d}"}
                r = await c.post(
                    "/api/evaluation",
                    json={
                        "id": f"s{i}",
                        "workflow": "otp_verification",
                        "data": {"individual": individual},
                    },
                )
                assert r.status_code == 200, r.text
                ids.append(r.json()["eval_id"])

            def patch(prefix: str, code: str) -> Callable[[int], Awaitable[Any]]:
                def call(i: int) -> Awaitable[Any]:
                    otp = {"id": f"{prefix}{i}", "data": {"individual": {"otp": {"code": code}}}}
                    return c.patch(f"/api/evaluation/{ids[i]}", json=otp)

                return call

            await measure("start", start)
            await measure("get", lambda i: c.get(f"/api/evaluation/{ids[i]}"))
            await measure("wrong code", patch("w", "000000"))  # the sandbox's invalid code
            await measure("right code", patch("r", "123456"))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1/test"))
