"""The guard fails open when Redis goes away mid-run: sends go on under the ordinary
limits (counted in the database), none answers 5xx, and otpgate_guard_fail_open_total
counts each send let through so."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.integration import test_redis_outage
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis
redis_server = test_redis_outage.redis_server  # a redis-server of the test's own


def failed_open(h: Harness) -> float:
    value = h.services.metrics.registry.get_sample_value("otpgate_guard_fail_open_total")
    return value or 0.0


async def start(client: httpx.AsyncClient, tag: str, phone: str) -> int:
    body = {
        "id": f"fail-open-{tag}",
        "workflow": "otp_verification",
        "data": {"individual": {"phone_number": phone}},
    }
    return (await client.post("/api/evaluation", json=body)).status_code


async def test_sends_go_on_under_the_ordinary_limits_and_are_counted(
    settings: Settings, clock: FakeClock, redis_server: RedisServer
) -> None:
    live = settings.model_copy(update={"redis_url": redis_server.url, "redis_retry_seconds": 0.05})
    async with running_app(live, clock=clock) as h, h.client(h.sandbox_key) as c:
        assert [await start(c, f"up-{i}", f"+1415555{i:04d}") for i in range(3)] == [200] * 3
        assert failed_open(h) == 0  # Redis answered: nothing failed open

        redis_server.stop()  # killed, as a crash would
        spread = [await start(c, f"down-{i}", f"+1415556{i:04d}") for i in range(4)]
        one = [await start(c, f"one-{i}", "+14155570000") for i in range(7)]
        assert spread == [200] * 4
        assert one == [200] * 5 + [429] * 2  # the send limit holds, from the database
        assert failed_open(h) == 9

        async with h.client() as anon:
            exposed = (await anon.get("/metrics")).text
        assert "otpgate_guard_fail_open_total 9.0" in exposed

        redis_server.start()
        await asyncio.sleep(0.1)  # past the retry interval: Redis is used again
        assert await start(c, "back", "+14155580000") == 200
        assert failed_open(h) == 9


async def test_without_redis_configured_nothing_fails_open(harness: Harness) -> None:
    async with harness.client(harness.sandbox_key) as c:
        assert await start(c, "plain", "+14155590000") == 200
    assert failed_open(harness) == 0
