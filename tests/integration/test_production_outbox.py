"""Production codes are never kept in the outbox by default (issue 11, point 4).

With ``OTPGATE_PRODUCTION_OUTBOX`` off (the default) and no production provider
configured, a production send fails cleanly as an undelivered code on each API, and the
outbox holds nothing; sandbox keys still deliver to the outbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from otpgate.adapters.delivery.registry import check, routes
from otpgate.core.clock import FakeClock
from otpgate.core.model import Channel
from otpgate.serving import start_line
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.integration.evalkit import start_body
from tests.integration.sponsor_support import PHONE, set_up_sponsor
from tests.support.gateway import initial, send


def deployment_settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/otpgate.db", _env_file=None, **changes)  # type: ignore[call-arg]


@pytest.fixture
async def deployed(tmp_path: Path) -> AsyncIterator[Harness]:
    settings = deployment_settings(tmp_path, production_outbox=False)
    async with running_app(settings, clock=FakeClock(start=1_800_000_000.5)) as h:
        yield h


def test_the_outbox_carries_production_messages_only_when_turned_on(tmp_path: Path) -> None:
    default = deployment_settings(tmp_path)
    assert default.production_outbox is False
    assert routes(default) == {Channel.SMS: [], Channel.VOICE: [], Channel.EMAIL: []}
    report = check(default)
    assert report.ok  # a sandbox-only server still starts
    assert any("OTPGATE_PRODUCTION_OUTBOX" in note for note in report.notes)
    on = deployment_settings(tmp_path, production_outbox=True)
    assert routes(on)[Channel.SMS] == ["outbox"]
    failover = deployment_settings(tmp_path, sms_providers="console,outbox")
    assert routes(failover)[Channel.SMS] == ["console"]
    assert "production outbox off" in start_line(default, "http://127.0.0.1:8000")
    assert "production codes kept in the outbox" in start_line(on, "http://127.0.0.1:8000")


async def test_evaluation_production_send_is_undelivered_and_kept_nowhere(
    deployed: Harness,
) -> None:
    async with deployed.client(deployed.production_key) as c:
        r = await c.post("/api/evaluation", json=start_body(phone="+14155550100"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["sub_status"], body["decision"]) == (
        "CLOSED",
        "Decline",
        "REJECT",
    )
    assert "OTP Delivery Failed" in body["tags"]
    assert await deployed.services.outbox(None, None, None) == []


async def test_gateway_production_send_is_undelivered_and_kept_nowhere(deployed: Harness) -> None:
    async with deployed.client() as c:
        r = await send(c, initial(deployed.production_key))
    assert r.status_code == 200, r.text
    assert r.json()["result"]["action"] != "PENDING"
    assert "the code could not be delivered" in r.json()["result"]["issues"]
    assert "continuations" not in r.json() or not r.json()["continuations"]
    assert await deployed.services.outbox(None, None, None) == []


async def test_sponsor_production_send_is_undelivered_and_kept_nowhere(deployed: Harness) -> None:
    live = await set_up_sponsor(deployed, deployed.production_key)
    r = await live.send()
    assert r.status_code == 502, r.text
    assert r.json() == {
        "error_code": "delivery_failed",
        "message": "the OTP could not be delivered to the beneficiary",
    }
    assert await deployed.services.outbox(None, None, None) == []
    sandbox = await set_up_sponsor(deployed, deployed.sandbox_key)
    assert (await sandbox.send()).status_code == 200
    [kept] = await deployed.services.outbox(None, None, PHONE)
    assert kept.environment == "sandbox"
