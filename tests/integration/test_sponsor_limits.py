"""The sponsor API's own limits: 5 sends/hour per beneficiary per sponsor, 50 req/min per client."""

from __future__ import annotations

from otpgate.core.model import Environment
from tests.integration.sponsor_support import SPONSOR, access_token, set_up_sponsor

BOGUS_OTP = "otp_01HX9NPQ12ABCDEFGH34567890"


async def test_five_sends_per_hour_per_beneficiary_per_sponsor(harness, clock):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    clock.advance(3600 - clock.now() % 3600 + 1)  # start of a fresh hourly window
    s.access_token = await access_token(harness, harness.sandbox_key)
    for _ in range(5):
        assert (await s.send()).status_code == 200
        clock.advance(61)  # keep clear of the core's 5-per-minute destination limit
    refused = await s.send()
    assert refused.status_code == 429
    assert refused.json()["error_code"] == "071-207"
    assert "beneficiary" in refused.json()["message"]
    retry = int(refused.headers["Retry-After"])
    assert 3600 - 5 * 61 - 1 <= retry <= 3600 - 5 * 61 + 1

    # Another beneficiary of the same sponsor is not affected.
    assert (await s.send("bnf_phone_only")).status_code == 200
    # Nor the same beneficiary id at another sponsor.
    async with harness.client(harness.sandbox_key) as c:
        await c.put("/v1/admin/sponsors/other-sponsor", json={"name": "Other", "channels": ["SMS"]})
        await c.put(
            "/v1/admin/sponsors/other-sponsor/beneficiaries/bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O",
            json={"phone_number": "+14155550199"},
        )
    async with s.client() as c:
        r = await c.post(
            "/v1/otp/send",
            json={
                "beneficiary_id": "bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O",
                "sponsor_slug": "other-sponsor",
                "channel": "SMS",
            },
        )
    assert r.status_code == 200, r.text

    clock.advance(retry)
    s.access_token = await access_token(harness, harness.sandbox_key)  # the old one expired
    assert (await s.send()).status_code == 200


async def test_fifty_requests_per_minute_per_client(harness, clock):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    clock.advance(60 - clock.now() % 60 + 0.5)  # start of a fresh minute
    for _ in range(50):
        r = await s.validate(BOGUS_OTP, "123456")
        assert r.status_code == 404
    refused = await s.validate(BOGUS_OTP, "123456")
    assert refused.status_code == 429
    assert refused.json() == {
        "error_code": "071-207",
        "message": "too many requests from this client; back off",
    }
    assert refused.headers["Retry-After"] == "60"
    # Sends count against the same client budget.
    assert (await s.send()).status_code == 429
    assert await harness.messages("+573001234542") == []

    # Another client (another key, even of the same tenant) has its own budget.
    key = await harness.create_key(Environment.SANDBOX, "acme")
    other = await access_token(harness, key)
    async with harness.client(other) as c:
        assert (await c.get(f"/v1/sponsors/{SPONSOR}/configuration")).status_code == 200

    clock.advance(60)
    assert (await s.send()).status_code == 200
