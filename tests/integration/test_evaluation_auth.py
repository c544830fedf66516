"""Keys, environments and tenants on the evaluation API."""

from __future__ import annotations

import uuid

import httpx
import pytest

from otpgate.core.model import Environment
from otpgate.testing.app import Harness

from .evalkit import PHONE, code_body, patch, resend_body, start, start_body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer og_sandbox_" + "x" * 40},
        {"Authorization": "Bearer og_live_" + "A1" * 20},
        {"Authorization": "Bearer not-a-key"},
    ],
)
async def test_missing_or_invalid_key_is_401(harness: Harness, headers: dict[str, str]) -> None:
    async with harness.client(**headers) as client:
        posted = await client.post("/api/evaluation", json=start_body())
        got = await client.get(f"/api/evaluation/{uuid.uuid4()}")
        patched = await client.patch(f"/api/evaluation/{uuid.uuid4()}", json=code_body("123456"))
    for r in (posted, got, patched):
        assert r.status_code == 401
        assert r.json()["msg"]
        assert r.headers["WWW-Authenticate"] == "Bearer"
    assert await harness.messages(PHONE) == []


async def test_401_comes_before_body_validation(harness: Harness) -> None:
    async with harness.client() as client:
        r = await client.post("/api/evaluation", content=b"{not json")
    assert r.status_code == 401


async def test_another_tenants_evaluation_is_404(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    ev = await start(sandbox)
    other_key = await harness.create_key(Environment.SANDBOX, "globex")
    async with harness.client(other_key) as other:
        got = await other.get(f"/api/evaluation/{ev['eval_id']}")
        coded = await patch(other, ev["eval_id"], code_body("123456"))
        resent = await patch(other, ev["eval_id"], resend_body())
    for r in (got, coded, resent):
        assert r.status_code == 404
        assert r.json()["msg"]
        assert "eval_id" not in r.json()
    assert len(await harness.messages(PHONE)) == 1
    mine = (await sandbox.get(f"/api/evaluation/{ev['eval_id']}")).json()
    assert mine["attempts_remaining"] == 5 and mine["status"] == "ON_HOLD"


async def test_unknown_eval_id_is_404(sandbox: httpx.AsyncClient) -> None:
    r = await sandbox.get(f"/api/evaluation/{uuid.uuid4()}")
    assert r.status_code == 404 and r.json()["msg"]
    r = await patch(sandbox, str(uuid.uuid4()), code_body("123456"))
    assert r.status_code == 404 and r.json()["msg"]


async def test_keys_of_one_environment_never_touch_the_other(harness: Harness) -> None:
    """A tenant's sandbox key cannot read, verify or resend its production evaluations."""
    async with harness.client(harness.production_key) as live:
        ev = await start(live, id="live-signup")
        async with harness.client(harness.sandbox_key) as sandbox:
            got = await sandbox.get(f"/api/evaluation/{ev['eval_id']}")
            coded = await patch(sandbox, ev["eval_id"], code_body("123456"))
            resent = await patch(sandbox, ev["eval_id"], resend_body())
            reused = await sandbox.post("/api/evaluation", json=start_body(id="live-signup"))
        for r in (got, coded, resent):
            assert r.status_code == 404
        assert reused.status_code == 409 and "production" in reused.json()["msg"]
        assert len(await harness.messages(PHONE)) == 1
        mine = (await live.get(f"/api/evaluation/{ev['eval_id']}")).json()
    assert mine["attempts_remaining"] == 5 and mine["environment_name"] == "Production"
