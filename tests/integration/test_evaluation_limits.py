"""Rate limits and lockouts as the evaluation API answers them; no half-written state."""

from __future__ import annotations

import httpx

from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app

from .evalkit import PHONE, code_body, patch, resend_body, start, start_body, state


async def test_sixth_send_to_a_destination_within_a_minute_is_refused(
    harness: Harness, sandbox: httpx.AsyncClient, clock: FakeClock
) -> None:
    clock.advance(-(clock.now() % 60))  # start of a rate window: no edge effects
    for _ in range(5):
        await start(sandbox)
    r = await sandbox.post("/api/evaluation", json=start_body(id="sixth"))
    assert r.status_code == 429
    body = r.json()
    assert body["msg"] and body["retry_after"] == int(r.headers["Retry-After"])
    assert 1 <= body["retry_after"] <= 60
    assert len(await harness.messages(PHONE)) == 5
    other = await sandbox.post("/api/evaluation", json=start_body(phone="+14155550155"))
    assert other.status_code == 200

    # The refused POST left nothing behind: the same id starts fresh later.
    clock.advance(body["retry_after"])
    again = await sandbox.post("/api/evaluation", json=start_body(id="sixth"))
    assert again.status_code == 200
    assert state(again.json()) == ("ON_HOLD", "Pending OTP Code", "REVIEW")
    assert len(await harness.messages(PHONE)) == 6


async def test_the_limit_is_per_destination_across_formats(
    sandbox: httpx.AsyncClient, clock: FakeClock
) -> None:
    clock.advance(-(clock.now() % 60))
    for raw in ("+14155550100", "+1 415 555 0100", "+1-415-555-0100", "+1 (415) 555-0100"):
        await start(sandbox, phone=raw)
    await start(sandbox, phone="+14155550100")
    r = await sandbox.post("/api/evaluation", json=start_body(phone="+1 415-555-0100"))
    assert r.status_code == 429


async def test_resends_count_against_the_send_limit(
    harness: Harness, sandbox: httpx.AsyncClient, clock: FakeClock
) -> None:
    clock.advance(-(clock.now() % 60))
    ev = await start(sandbox)
    for _ in range(4):
        assert (await patch(sandbox, ev["eval_id"], resend_body())).status_code == 200
    r = await patch(sandbox, ev["eval_id"], resend_body())
    assert r.status_code == 429
    assert r.json()["retry_after"] == int(r.headers["Retry-After"])
    assert len(await harness.messages(PHONE)) == 5
    # The evaluation is still waiting for its code.
    ok = await patch(sandbox, ev["eval_id"], code_body("123456"))
    assert ok.status_code == 200


async def test_a_locked_destination_refuses_then_allows_after_the_lockout(
    harness: Harness, sandbox: httpx.AsyncClient, clock: FakeClock
) -> None:
    ev = await start(sandbox)
    for _ in range(5):
        await patch(sandbox, ev["eval_id"], code_body("000000"))
    locked = await sandbox.post("/api/evaluation", json=start_body(id="after-lock"))
    assert locked.status_code == 429
    assert 590 <= int(locked.headers["Retry-After"]) <= 600
    clock.advance(600)
    again = await sandbox.post("/api/evaluation", json=start_body(id="after-lock"))
    assert again.status_code == 200
    assert again.json()["eval_id"] != ev["eval_id"]
    assert state(again.json()) == ("ON_HOLD", "Pending OTP Code", "REVIEW")


async def test_verification_rate_limit_answers_429(settings: Settings, clock: FakeClock) -> None:
    clock.advance(-(clock.now() % 60))
    # A failure budget above the guesses made: the verify rate is what this is about.
    roomy = settings.model_copy(update={"otp_max_attempts": 20, "guard_failures_per_hour": 100})
    async with running_app(roomy, clock=clock) as h, h.client(h.sandbox_key) as client:
        ev = await start(client)
        answers = [await patch(client, ev["eval_id"], code_body("000000")) for _ in range(10)]
        assert {a.status_code for a in answers} == {400}
        assert answers[-1].json()["attempts_remaining"] == 10
        r = await patch(client, ev["eval_id"], code_body("123456"))
        assert r.status_code == 429
        assert r.json()["retry_after"] == int(r.headers["Retry-After"])
        assert (await client.get(f"/api/evaluation/{ev['eval_id']}")).json()[
            "attempts_remaining"
        ] == 10
        clock.advance(60)
        ok = await patch(client, ev["eval_id"], code_body("123456"))
        assert ok.status_code == 200 and ok.json()["decision"] == "ACCEPT"
