"""Shared set-up for the sponsor API tests: a sponsor, beneficiaries, an access token."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from otpgate.core.model import Environment
from otpgate.testing.app import Harness

SPONSOR = "sponsor-sandbox"
BENEFICIARY = "bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O"
PHONE = "+573001234542"
EMAIL = "ana.perez@example.com"
OPERATIONS = {
    "pharmacy": ["dispensation.complete"],
    "hospital": ["preauthorization.complete", "settlement.approve"],
}


@dataclass
class SponsorSetup:
    harness: Harness
    api_key: str
    access_token: str

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        return self.harness.client(token or self.access_token)

    async def send(self, beneficiary: str = BENEFICIARY, channel: str = "SMS") -> httpx.Response:
        async with self.client() as c:
            return await c.post(
                "/v1/otp/send",
                json={"beneficiary_id": beneficiary, "sponsor_slug": SPONSOR, "channel": channel},
            )

    async def validate(self, otp_id: str, code: str) -> httpx.Response:
        async with self.client() as c:
            return await c.post("/v1/otp/validate", json={"otp_id": otp_id, "code": code})

    async def redeem(
        self, token: str, operation: str = "dispensation.complete", access: str | None = None
    ) -> httpx.Response:
        async with self.client(access) as c:
            return await c.post(
                "/v1/otp/verification-tokens/redeem",
                json={"token": token, "operation": operation},
            )

    async def verified_token(self, beneficiary: str = BENEFICIARY) -> str:
        sent = await self.send(beneficiary)
        assert sent.status_code == 200, sent.text
        done = await self.validate(sent.json()["otp_id"], "482913")
        assert done.status_code == 200, done.text
        return str(done.json()["otp_verification_token"])


async def access_token(harness: Harness, api_key: str) -> str:
    async with harness.client(api_key) as c:
        client_id = (await c.get("/v1/admin/oauth-client")).json()["client_id"]
    async with harness.client() as c:
        r = await c.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": api_key,
            },
        )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def set_up_sponsor(
    harness: Harness,
    api_key: str,
    *,
    channels: tuple[str, ...] = ("SMS", "EMAIL"),
    active: bool = True,
) -> SponsorSetup:
    async with harness.client(api_key) as c:
        r = await c.put(
            f"/v1/admin/sponsors/{SPONSOR}",
            json={
                "name": "Sandbox Health",
                "channels": list(channels),
                "otp_operations": OPERATIONS,
                "active": active,
            },
        )
        assert r.status_code == 200, r.text
        for bid, body in (
            (BENEFICIARY, {"phone_number": "+57 300 123 4542", "email": EMAIL}),
            ("bnf_phone_only", {"phone_number": "+14155550123"}),
            ("bnf_magic", {"phone_number": "+11234567890"}),
        ):
            r = await c.put(f"/v1/admin/sponsors/{SPONSOR}/beneficiaries/{bid}", json=body)
            assert r.status_code == 200, r.text
    return SponsorSetup(harness, api_key, await access_token(harness, api_key))


async def other_tenant(harness: Harness) -> SponsorSetup:
    key = await harness.create_key(Environment.SANDBOX, "globex")
    return await set_up_sponsor(harness, key)
