"""Environments are a wall: a sandbox key never reads or changes production data.

The probes of issue 11 (points 1 and 2), on every API that a key reaches, on SQLite and
PostgreSQL: the admin API's sponsors and beneficiaries, the outbox, the gateway's
continue and status with sandbox credentials, and the sponsor API's otp ids and tokens.
Each answers the other environment's object as its API answers an unknown one (404).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.integration.sponsor_support import (
    BENEFICIARY,
    PHONE,
    SPONSOR,
    SponsorSetup,
    set_up_sponsor,
)
from tests.support.gateway import cont, start
from tests.support.pgdb import fresh_database
from tests.support.services import require_postgres

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
GATEWAY_PHONE = "+12015106000"


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    clock = FakeClock(start=1_800_000_000.5)
    if request.param == "sqlite":
        settings = Settings(database_url=f"sqlite:///{tmp_path}/otpgate.db", _env_file=None)  # type: ignore[call-arg]
        async with running_app(settings, clock=clock) as h:
            yield h
        return
    with fresh_database(require_postgres(), "otpgate_wall") as url:
        settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
        async with running_app(settings, clock=clock) as h:
            yield h


async def live_sponsor(h: Harness) -> SponsorSetup:
    return await set_up_sponsor(h, h.production_key)


async def test_a_sandbox_key_cannot_redirect_or_remove_production_beneficiaries(
    backend: Harness,
) -> None:
    live = await live_sponsor(backend)
    path = f"/v1/admin/sponsors/{SPONSOR}/beneficiaries/{BENEFICIARY}"
    async with backend.client(backend.sandbox_key) as c:
        assert (await c.get(f"/v1/admin/sponsors/{SPONSOR}")).status_code == 404
        assert (await c.get("/v1/admin/sponsors")).json() == {"sponsors": []}
        assert (await c.get(path)).status_code == 404
        moved = await c.put(path, json={"phone_number": "+14155550199"})
        assert moved.status_code == 404, moved.text
        assert (await c.delete(path)).status_code == 404
    async with backend.client(backend.production_key) as c:
        kept = await c.get(path)
    assert kept.status_code == 200 and kept.json()["phone_number"].endswith(PHONE[-2:])
    sent = await live.send()
    assert sent.status_code == 200, sent.text
    assert await backend.messages("+14155550199") == []
    assert len(await backend.messages(PHONE)) == 1


async def test_the_same_sponsor_lives_in_each_environment_apart(backend: Harness) -> None:
    live = await live_sponsor(backend)
    sandbox = await set_up_sponsor(backend, backend.sandbox_key)
    path = f"/v1/admin/sponsors/{SPONSOR}/beneficiaries/{BENEFICIARY}"
    async with backend.client(backend.sandbox_key) as c:
        assert (await c.put(path, json={"phone_number": "+14155550199"})).status_code == 200
        assert (await c.delete(f"{path}x")).status_code == 404
    assert (await sandbox.send()).json()["masked_destination"].endswith("99")
    assert (await live.send()).json()["masked_destination"].endswith(PHONE[-2:])


async def test_a_sandbox_key_reads_no_production_message_in_the_outbox(backend: Harness) -> None:
    live = await live_sponsor(backend)
    assert (await live.send()).status_code == 200
    async with backend.client(backend.production_key) as c:
        shown = (await c.get("/v1/outbox", params={"destination": PHONE})).json()["messages"]
    assert len(shown) == 1
    async with backend.client(backend.sandbox_key) as c:
        for params in ({"destination": PHONE}, {}):
            assert (await c.get("/v1/outbox", params=params)).json() == {"messages": []}
    sandbox = await set_up_sponsor(backend, backend.sandbox_key)
    assert (await sandbox.send()).status_code == 200
    async with backend.client(backend.sandbox_key) as c:
        [mine] = (await c.get("/v1/outbox", params={"destination": PHONE})).json()["messages"]
    async with backend.client(backend.production_key) as c:
        theirs = (await c.get("/v1/outbox", params={"destination": PHONE})).json()["messages"]
    assert mine["id"] not in {m["id"] for m in theirs} and len(theirs) == 1


async def test_sandbox_credentials_do_not_reach_a_production_gateway_transaction(
    backend: Harness,
) -> None:
    sandbox_creds = {"user": "acme", "pass": backend.sandbox_key}
    async with backend.client() as c:
        token = await start(c, backend.production_key)
        code = await backend.last_code(GATEWAY_PHONE)
        refused = await cont(c, token, code, **sandbox_creds)
        assert refused.status_code == 404, refused.text
        done = await cont(c, token, code, user="acme", **{"pass": backend.production_key})
        assert done.status_code == 200 and done.json()["result"]["action"] == "PASS"
        final = done.json()["final"]["template"]["token"]
        status = {"token": final}
        seen = await c.post("/process/status", json={**status, **sandbox_creds})
        assert seen.status_code == 404, seen.text
        live = {"user": "acme", "pass": backend.production_key}
        assert (await c.post("/process/status", json={**status, **live})).status_code == 200


async def test_sponsor_otp_ids_and_tokens_do_not_cross_environments(backend: Harness) -> None:
    live = await live_sponsor(backend)
    sandbox = await set_up_sponsor(backend, backend.sandbox_key)
    sent = await live.send()
    otp_id = sent.json()["otp_id"]
    code = await backend.last_code(PHONE)
    crossed = await sandbox.validate(otp_id, code)
    assert crossed.status_code == 404, crossed.text
    issued = await live.validate(otp_id, code)
    assert issued.status_code == 200, issued.text
    token = issued.json()["otp_verification_token"]
    assert (await sandbox.redeem(token)).status_code == 404
    assert (await live.redeem(token)).status_code == 200
