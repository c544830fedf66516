"""Every row of the seed document's error table, and the bad input around it."""

from __future__ import annotations

import pytest

from tests.integration.sponsor_support import BENEFICIARY, SPONSOR, other_tenant, set_up_sponsor


def error(r, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error_code", "message"}, body
    assert body["error_code"] == code, body
    return str(body["message"])


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"sponsor_slug": SPONSOR, "channel": "SMS"}, "beneficiary_id"),
        ({"beneficiary_id": BENEFICIARY, "sponsor_slug": SPONSOR}, "channel"),
        ({"beneficiary_id": BENEFICIARY, "channel": "SMS"}, "sponsor_slug"),
        ({"beneficiary_id": BENEFICIARY, "sponsor_slug": SPONSOR, "channel": " "}, "channel"),
        ({"beneficiary_id": 42, "sponsor_slug": SPONSOR, "channel": "SMS"}, "beneficiary_id"),
        (
            {"beneficiary_id": "bad id!", "sponsor_slug": SPONSOR, "channel": "SMS"},
            "beneficiary_id",
        ),
        ({"beneficiary_id": BENEFICIARY, "sponsor_slug": "Not A Slug", "channel": "SMS"}, "slug"),
    ],
)
async def test_400_malformed_send(harness, body, names):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    async with s.client() as c:
        r = await c.post("/v1/otp/send", json=body)
    assert names in error(r, 400, "071-201")
    assert await harness.messages("+573001234542") == []


async def test_400_body_that_is_not_json(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    async with s.client() as c:
        r1 = await c.post(
            "/v1/otp/send", content=b"{not json", headers={"content-type": "application/json"}
        )
        r2 = await c.post("/v1/otp/validate", json=["otp_id"])
    error(r1, 400, "071-201")
    error(r2, 400, "071-201")


@pytest.mark.parametrize(
    ("otp_id", "code", "field"),
    [
        ("otp_123", "123456", "otp_id"),
        ("01HX9NPQ12ABCDEFGH34567890", "123456", "otp_id"),
        ("otp_01HX9NPQ12ABCDEFGH3456789U", "123456", "otp_id"),
        (None, "12345", "code"),  # wrong length
        (None, "1234567", "code"),
        (None, "12a456", "code"),
    ],
)
async def test_400_malformed_validate(harness, otp_id, code, field):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    if otp_id is None:
        otp_id = (await s.send()).json()["otp_id"]
    assert field in error(await s.validate(otp_id, code), 400, "071-201")
    if field == "code":
        # A malformed code is not a guess: all three attempts remain.
        for _ in range(2):
            error(await s.validate(otp_id, "000000"), 422, "071-206")
        assert (await s.validate(otp_id, "123456")).status_code == 200


async def test_403_inactive_sponsor_and_operation_without_otp(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    token = await s.verified_token()
    message = error(await s.redeem(token, "claims.submit"), 403, "071-202")
    assert "operation" in message
    # Refused, not consumed: the right operation still redeems it.
    assert (await s.redeem(token, "dispensation.complete")).status_code == 200

    await set_up_sponsor(harness, harness.sandbox_key, active=False)
    error(await s.send(), 403, "071-202")


async def test_404_unknown_ids_and_other_tenants(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    error(await s.validate("otp_01HX9NPQ12ABCDEFGH34567890", "123456"), 404, "071-203")
    error(await s.send("bnf_nobody"), 404, "071-203")
    async with s.client() as c:
        r = await c.post(
            "/v1/otp/send",
            json={
                "beneficiary_id": BENEFICIARY,
                "sponsor_slug": "no-such-sponsor",
                "channel": "SMS",
            },
        )
    error(r, 404, "071-203")

    globex = await other_tenant(harness)
    theirs = (await globex.send()).json()["otp_id"]
    error(await s.validate(theirs, "123456"), 404, "071-203")
    their_token = await globex.verified_token("bnf_phone_only")
    error(await s.redeem(their_token), 404, "071-203")
    # Nothing of theirs was touched.
    assert (await globex.redeem(their_token)).status_code == 200


async def test_404_validate_after_the_token_was_consumed(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    otp_id = (await s.send()).json()["otp_id"]
    token = (await s.validate(otp_id, "123456")).json()["otp_verification_token"]
    assert (await s.redeem(token)).status_code == 200
    error(await s.validate(otp_id, "123456"), 404, "071-203")


async def test_409_already_validated(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    otp_id = (await s.send()).json()["otp_id"]
    assert (await s.validate(otp_id, "123456")).status_code == 200
    error(await s.validate(otp_id, "123456"), 409, "071-204")
    error(await s.validate(otp_id, "000000"), 409, "071-204")


async def test_410_expired_after_300_seconds(harness, clock):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    otp_id = (await s.send()).json()["otp_id"]
    clock.advance(299)
    other = (await s.send("bnf_phone_only")).json()["otp_id"]
    assert (await s.validate(other, "123456")).status_code == 200
    clock.advance(2)
    error(await s.validate(otp_id, "123456"), 410, "071-205")
    error(await s.validate(otp_id, "123456"), 410, "071-205")


async def test_422_wrong_code_three_times_then_invalidated(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    otp_id = (await s.send()).json()["otp_id"]
    assert "2 attempt" in error(await s.validate(otp_id, "000000"), 422, "071-206")
    assert "1 attempt" in error(await s.validate(otp_id, "000000"), 422, "071-206")
    assert "invalidated" in error(await s.validate(otp_id, "000000"), 422, "071-206")
    # Invalidated: even a right code is refused; the client must send again.
    error(await s.validate(otp_id, "123456"), 410, "071-205")
    # ...after the core's lockout of the destination (10 minutes), as on every front-end.
    locked = await s.send()
    error(locked, 429, "071-207")
    assert 590 <= int(locked.headers["Retry-After"]) <= 600


async def test_422_channel_the_sponsor_or_beneficiary_lacks(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key, channels=("SMS",))
    r = await s.send(channel="EMAIL")
    assert r.status_code == 422
    assert r.json()["error_code"] == "channel_not_supported"

    await set_up_sponsor(harness, harness.sandbox_key, channels=("SMS", "EMAIL"))
    r = await s.send("bnf_phone_only", channel="EMAIL")
    assert r.status_code == 422
    assert "no email" in r.json()["message"]


@pytest.mark.parametrize("channel", ["VOICE", "WHATSAPP", "whatsapp", "FAX"])
async def test_422_channel_no_sponsor_supports(harness, channel):
    s = await set_up_sponsor(harness, harness.sandbox_key, channels=("SMS", "EMAIL"))
    r = await s.send(channel=channel)
    assert "not supported" in error(r, 422, "channel_not_supported")
    assert await harness.messages("+573001234542") == []


async def test_429_sixth_send_in_an_hour(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    for _ in range(5):
        assert (await s.send()).status_code == 200
    r = await s.send()
    error(r, 429, "071-207")
    assert 0 < int(r.headers["Retry-After"]) <= 3600


async def test_no_500_for_odd_input(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    async with s.client() as c:
        for path, body in [
            (
                "/v1/otp/send",
                {"beneficiary_id": "x" * 65, "sponsor_slug": SPONSOR, "channel": "SMS"},
            ),
            ("/v1/otp/send", {"beneficiary_id": None, "sponsor_slug": SPONSOR, "channel": "SMS"}),
            ("/v1/otp/send", {"beneficiary_id": "é", "sponsor_slug": "é", "channel": "é"}),
            ("/v1/otp/validate", {"otp_id": "otp_" + "\u0000" * 26, "code": "123456"}),
            ("/v1/otp/validate", {"otp_id": "otp_01HX9NPQ12ABCDEFGH34567890", "code": 123456}),
            ("/v1/otp/verification-tokens/redeem", {"token": "otvt_short", "operation": "x"}),
            ("/v1/otp/verification-tokens/redeem", {"token": "otvt_" + "A" * 50, "operation": ""}),
            ("/v1/otp/verification-tokens/redeem", {"token": "x", "operation": "x"}),
        ]:
            r = await c.post(path, json=body)
            assert 400 <= r.status_code < 500, (path, body, r.text)
            assert set(r.json()) == {"error_code", "message"}
        r = await c.get("/v1/sponsors/NOT%20VALID/configuration")
        assert r.status_code == 400
