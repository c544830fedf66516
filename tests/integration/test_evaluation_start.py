"""POST /api/evaluation and GET: the contract rows about starting an evaluation."""

from __future__ import annotations

import httpx

from otpgate.core.clock import FakeClock
from otpgate.core.model import Environment
from otpgate.testing.app import Harness

from .evalkit import (
    EMAIL,
    MAGIC_FAIL,
    PHONE,
    RESPONSE_KEYS,
    named,
    start,
    start_body,
    state,
)


async def test_accepted_post_holds_for_the_code_and_reports_the_delivery(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    r = await sandbox.post("/api/evaluation", json=start_body(id="otp-001"))
    assert r.status_code == 200
    body = r.json()
    assert body.keys() >= RESPONSE_KEYS
    assert state(body) == ("ON_HOLD", "Pending OTP Code", "REVIEW")
    assert body["eval_status"] == "evaluation_paused"
    assert body["environment_name"] == "Sandbox"
    assert body["id"] == "otp-001" and body["workflow"] == "otp_verification"
    assert body["attempts_remaining"] == 5 and body["expires_at"]
    # The held decision has a time too (an RFC 3339 string, as the guide types it).
    assert body["decision_at"] == body["eval_start_time"] and body["eval_source"] == "API"
    [delivery] = named(body, "Deliver OTP")
    assert delivery["enrichment_name"] == "Deliver OTP SMS"
    assert delivery["status_code"] == 200 and delivery["is_source_cache"] is False
    assert delivery["response"]["verificationId"]
    masked = delivery["request"]["destination"]
    assert masked.startswith("+1 415") and masked.endswith("00") and "*" in masked
    assert PHONE not in str(body) and "5550100" not in str(body)
    assert len(await harness.messages(PHONE)) == 1


async def test_hyphens_and_spaces_in_the_phone_number_are_normalised(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    await start(sandbox, phone="+1 415-555-0100")
    assert len(await harness.messages(PHONE)) == 1


async def test_magic_number_fails_delivery_and_declines(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    body = await start(sandbox, phone=MAGIC_FAIL)
    assert state(body) == ("CLOSED", "Decline", "REJECT")
    assert "OTP Delivery Failed" in body["tags"]
    assert body["eval_status"] == "evaluation_completed" and body["decision_at"]
    [delivery] = named(body, "Deliver OTP")
    assert delivery["status_code"] >= 400
    assert await harness.messages(MAGIC_FAIL) == []


async def test_the_magic_number_is_not_a_valid_number_in_production(
    live: httpx.AsyncClient,
) -> None:
    r = await live.post("/api/evaluation", json=start_body(phone=MAGIC_FAIL))
    assert r.status_code == 400
    assert "phone_number" in r.json()["msg"]


async def test_reusing_an_id_returns_the_existing_evaluation_without_sending(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    first = await start(sandbox, id="same-id")
    again = await start(sandbox, id="same-id", phone="+14155550199")
    assert again["eval_id"] == first["eval_id"]
    assert state(again) == state(first)
    assert len(await harness.messages(PHONE)) == 1
    assert await harness.messages("+14155550199") == []


async def test_reusing_an_id_shows_the_evaluation_as_it_stands_now(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    first = await start(sandbox, id="same-id")
    done = await sandbox.patch(
        f"/api/evaluation/{first['eval_id']}",
        json={"id": "v1", "data": {"individual": {"otp": {"code": "123456"}}}},
    )
    assert done.status_code == 200
    again = await start(sandbox, id="same-id")
    assert again["eval_id"] == first["eval_id"]
    assert state(again) == ("CLOSED", "Approve", "ACCEPT")
    assert len(await harness.messages(PHONE)) == 1


async def test_the_same_id_under_another_tenant_is_a_new_evaluation(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    other_key = await harness.create_key(Environment.SANDBOX, "globex")
    mine = await start(sandbox, id="shared")
    async with harness.client(other_key) as other:
        theirs = await start(other, id="shared", phone="+14155550123")
    assert theirs["eval_id"] != mine["eval_id"]


async def test_get_returns_the_current_state(sandbox: httpx.AsyncClient) -> None:
    body = await start(sandbox)
    got = await sandbox.get(f"/api/evaluation/{body['eval_id']}")
    assert got.status_code == 200
    assert state(got.json()) == ("ON_HOLD", "Pending OTP Code", "REVIEW")
    await sandbox.patch(
        f"/api/evaluation/{body['eval_id']}",
        json={"id": "v", "data": {"individual": {"otp": {"code": "123456"}}}},
    )
    got = (await sandbox.get(f"/api/evaluation/{body['eval_id']}")).json()
    assert state(got) == ("CLOSED", "Approve", "ACCEPT")
    assert got.keys() >= RESPONSE_KEYS
    assert got["eval_status"] == "evaluation_completed"


async def test_default_channel_is_sms_when_a_phone_is_given(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    body = await start(sandbox, email=EMAIL)
    assert named(body, "Deliver OTP")[0]["enrichment_name"] == "Deliver OTP SMS"
    assert len(await harness.messages(PHONE)) == 1
    assert await harness.messages(EMAIL) == []


async def test_default_channel_is_email_without_a_phone(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    body = await start(sandbox, phone=None, email=EMAIL)
    [delivery] = named(body, "Deliver OTP")
    assert delivery["enrichment_name"] == "Deliver OTP Email"
    assert delivery["request"]["destination"] == "j***e@example.com"
    assert len(await harness.messages(EMAIL)) == 1


async def test_channel_override_voice(harness: Harness, sandbox: httpx.AsyncClient) -> None:
    body = await start(sandbox, email=EMAIL, channel="voice")
    assert named(body, "Deliver OTP")[0]["enrichment_name"] == "Deliver OTP Voice"
    [msg] = await harness.services.outbox(None, None, PHONE)
    assert msg.channel == "voice"


async def test_channel_override_email(harness: Harness, sandbox: httpx.AsyncClient) -> None:
    body = await start(sandbox, email=EMAIL, channel="email")
    assert named(body, "Deliver OTP")[0]["enrichment_name"] == "Deliver OTP Email"
    assert await harness.messages(PHONE) == []
    assert len(await harness.messages(EMAIL)) == 1


async def test_channel_override_needs_its_destination(sandbox: httpx.AsyncClient) -> None:
    r = await sandbox.post("/api/evaluation", json=start_body(channel="email"))
    assert r.status_code == 400
    assert r.json()["field"] == "data.individual.email"
    assert "email" in r.json()["msg"]


async def test_x_api_version_is_echoed(sandbox: httpx.AsyncClient) -> None:
    headers = {"X-API-Version": "2025-01-01.orion"}
    r = await sandbox.post("/api/evaluation", json=start_body(), headers=headers)
    assert r.headers["X-API-Version"] == "2025-01-01.orion"
    got = await sandbox.get(f"/api/evaluation/{r.json()['eval_id']}", headers=headers)
    assert got.headers["X-API-Version"] == "2025-01-01.orion"
    bad = await sandbox.post("/api/evaluation", json={"id": "x"}, headers=headers)
    assert bad.status_code == 400 and bad.headers["X-API-Version"] == "2025-01-01.orion"


async def test_production_key_says_production(live: httpx.AsyncClient) -> None:
    body = await start(live)
    assert body["environment_name"] == "Production"


async def test_reusing_an_id_after_the_ttl_shows_the_expiry_like_get(
    harness: Harness, sandbox: httpx.AsyncClient, clock: FakeClock
) -> None:
    first = await start(sandbox, id="late-id")
    clock.advance(601)
    again = await start(sandbox, id="late-id")
    got = (await sandbox.get(f"/api/evaluation/{first['eval_id']}")).json()
    assert again["eval_id"] == first["eval_id"]
    assert state(again) == state(got) == ("CLOSED", "Decline", "REJECT")
    assert len(await harness.messages(PHONE)) == 1
