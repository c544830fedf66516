"""The seed document's three steps, send → validate → attach, as its curl examples send them."""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.integration.sponsor_support import (
    BENEFICIARY,
    EMAIL,
    PHONE,
    SPONSOR,
    access_token,
    set_up_sponsor,
)

OTP_ID = re.compile(r"otp_[0-9A-HJKMNP-TV-Z]{26}")


async def test_send_validate_attach_in_the_sandbox(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    async with harness.client(s.access_token) as c:
        sent = await c.post(
            "/v1/otp/send",
            headers={"Content-Type": "application/json"},
            content=(
                '{"beneficiary_id": "bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O",'
                ' "sponsor_slug": "sponsor-sandbox", "channel": "SMS"}'
            ),
        )
        assert sent.status_code == 200, sent.text
        body = sent.json()
        assert set(body) == {"otp_id", "channel", "expires_in", "masked_destination"}
        assert OTP_ID.fullmatch(body["otp_id"])
        assert body["channel"] == "SMS"
        assert body["expires_in"] == 300
        assert body["masked_destination"] == "+57 300 *** ** 42"
        assert "1234542" not in sent.text

        # The beneficiary got an SMS (the sandbox outbox) naming the sponsor.
        messages = await harness.messages(PHONE)
        assert len(messages) == 1 and "Sandbox Health" in messages[0]

        validated = await c.post(
            "/v1/otp/validate", json={"otp_id": body["otp_id"], "code": "482913"}
        )
        assert validated.status_code == 200, validated.text
        token = validated.json()
        assert set(token) == {"otp_verification_token", "expires_in"}
        assert token["otp_verification_token"].startswith("otvt_")
        assert token["expires_in"] == 600

        attached = await c.post(
            "/v1/otp/verification-tokens/redeem",
            json={"token": token["otp_verification_token"], "operation": "dispensation.complete"},
        )
    assert attached.status_code == 200, attached.text
    who = attached.json()
    assert who["verified"] is True
    assert who["beneficiary_id"] == BENEFICIARY
    assert who["sponsor_slug"] == SPONSOR
    assert who["channel"] == "SMS"
    assert who["otp_id"] == body["otp_id"]
    assert who["operation"] == "dispensation.complete"


async def test_production_key_verifies_the_real_code_by_email(harness):
    s = await set_up_sponsor(harness, harness.production_key)
    sent = await s.send(channel="EMAIL")
    assert sent.status_code == 200, sent.text
    assert sent.json()["channel"] == "EMAIL"
    assert sent.json()["masked_destination"] == "a***z@example.com"
    assert EMAIL not in sent.text
    code = await harness.last_code(EMAIL)
    wrong = "1" * 6 if code != "111111" else "222222"

    assert (await s.validate(sent.json()["otp_id"], wrong)).status_code == 422
    ok = await s.validate(sent.json()["otp_id"], code)
    assert ok.status_code == 200, ok.text
    redeemed = await s.redeem(ok.json()["otp_verification_token"], "settlement.approve")
    assert redeemed.status_code == 200
    assert redeemed.json()["channel"] == "EMAIL"


async def test_sandbox_rules_hold(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    sent = await s.send()
    otp_id = sent.json()["otp_id"]
    zeros = await s.validate(otp_id, "000000")
    assert zeros.status_code == 422
    assert zeros.json()["error_code"] == "071-206"
    assert (await s.validate(otp_id, "123456")).status_code == 200

    failing = await s.send("bnf_magic")
    assert failing.status_code == 502
    assert failing.json() == {
        "error_code": "delivery_failed",
        "message": "the OTP could not be delivered to the beneficiary",
    }


async def test_codes_and_tokens_are_not_stored_in_plain_text(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    token = await s.verified_token()
    async with harness.services.engine.connect() as conn:
        stored = (
            await conn.execute(text("SELECT token_hash FROM sponsor_verification_tokens"))
        ).scalar_one()
        phone = (
            await conn.execute(
                text("SELECT phone FROM sponsor_beneficiaries WHERE beneficiary_id = :b"),
                {"b": BENEFICIARY},
            )
        ).scalar_one()
    assert stored != token and token not in stored and len(stored) == 64
    # The on-file phone is kept sealed, normalised as the tenant registered it
    # ("+57 300 123 4542").
    assert PHONE not in phone and harness.services.uow.sealer.open(phone) == PHONE


async def test_configuration_lists_the_operations_that_need_otp(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    async with s.client() as c:
        everything = await c.get(f"/v1/sponsors/{SPONSOR}/configuration")
        pharmacy = await c.get(
            f"/v1/sponsors/{SPONSOR}/configuration", params={"product_type": "pharmacy"}
        )
        unknown = await c.get(
            f"/v1/sponsors/{SPONSOR}/configuration", params={"product_type": "dental"}
        )
        missing = await c.get("/v1/sponsors/nobody/configuration")
    assert everything.status_code == 200
    body = everything.json()
    assert body["sponsor_slug"] == SPONSOR
    assert body["otp_channels"] == ["SMS", "EMAIL"]
    assert body["otp_expires_in"] == 300 and body["otp_max_attempts"] == 3
    assert body["product_types"] == [
        {
            "product_type": "hospital",
            "operations_requiring_otp": ["preauthorization.complete", "settlement.approve"],
        },
        {"product_type": "pharmacy", "operations_requiring_otp": ["dispensation.complete"]},
    ]
    assert pharmacy.json()["product_types"] == [
        {"product_type": "pharmacy", "operations_requiring_otp": ["dispensation.complete"]}
    ]
    assert unknown.json()["product_types"] == [
        {"product_type": "dental", "operations_requiring_otp": []}
    ]
    assert missing.status_code == 404 and missing.json()["error_code"] == "071-203"


async def test_sandbox_and_production_ids_do_not_mix(harness):
    sandbox = await set_up_sponsor(harness, harness.sandbox_key)
    live_token = await access_token(harness, harness.production_key)
    sent = await sandbox.send()
    async with harness.client(live_token) as c:
        r = await c.post(
            "/v1/otp/validate", json={"otp_id": sent.json()["otp_id"], "code": "1" * 6}
        )
    assert r.status_code == 404
    token = await sandbox.verified_token("bnf_phone_only")
    assert (await sandbox.redeem(token, access=live_token)).status_code == 404
    assert (await sandbox.redeem(token)).status_code == 200
