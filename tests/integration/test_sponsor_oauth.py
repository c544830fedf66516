"""``POST /oauth/token`` and the bearer access tokens the sponsor endpoints demand."""

from __future__ import annotations

import base64

import jwt

from otpgate.core.model import Environment
from tests.integration.sponsor_support import SPONSOR, set_up_sponsor


async def client_id(harness, key: str) -> str:
    async with harness.client(key) as c:
        r = await c.get("/v1/admin/oauth-client")
    assert r.status_code == 200
    return str(r.json()["client_id"])


async def token_request(harness, data: dict, headers: dict | None = None):
    async with harness.client() as c:
        return await c.post("/oauth/token", data=data, headers=headers or {})


async def configuration(harness, token: str):
    async with harness.client(token) as c:
        return await c.get(f"/v1/sponsors/{SPONSOR}/configuration")


async def test_form_credentials_give_a_bearer_token(harness):
    await set_up_sponsor(harness, harness.sandbox_key)
    cid = await client_id(harness, harness.sandbox_key)
    r = await token_request(
        harness,
        {
            "grant_type": "client_credentials",
            "client_id": cid,
            "client_secret": harness.sandbox_key,
        },
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert (await configuration(harness, body["access_token"])).status_code == 200


async def test_basic_credentials_give_a_bearer_token(harness):
    await set_up_sponsor(harness, harness.sandbox_key)
    cid = await client_id(harness, harness.sandbox_key)
    basic = base64.b64encode(f"{cid}:{harness.sandbox_key}".encode()).decode()
    r = await token_request(
        harness, {"grant_type": "client_credentials"}, {"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 200, r.text
    assert (await configuration(harness, r.json()["access_token"])).status_code == 200


async def test_bad_client_credentials(harness):
    cid = await client_id(harness, harness.sandbox_key)
    other = await client_id(harness, harness.production_key)
    wrong_secret = {
        "grant_type": "client_credentials",
        "client_id": cid,
        "client_secret": "og_sandbox_" + "x" * 40,
    }
    wrong_pair = {
        "grant_type": "client_credentials",
        "client_id": other,
        "client_secret": harness.sandbox_key,
    }
    for data in (wrong_secret, wrong_pair, {"grant_type": "client_credentials"}):
        r = await token_request(harness, data)
        assert r.status_code == 401, data
        assert r.json()["error"] == "invalid_client"
    basic = base64.b64encode(f"{cid}:nope".encode()).decode()
    r = await token_request(
        harness, {"grant_type": "client_credentials"}, {"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")
    r = await token_request(
        harness, {"grant_type": "client_credentials"}, {"Authorization": "Basic %%%"}
    )
    assert r.status_code == 401


async def test_bad_token_requests(harness):
    cid = await client_id(harness, harness.sandbox_key)
    creds = {"client_id": cid, "client_secret": harness.sandbox_key}
    r = await token_request(harness, creds)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    r = await token_request(harness, {"grant_type": "password", **creds})
    assert (r.status_code, r.json()["error"]) == (400, "unsupported_grant_type")
    basic = base64.b64encode(f"{cid}:{harness.sandbox_key}".encode()).decode()
    r = await token_request(
        harness, {"grant_type": "client_credentials", **creds}, {"Authorization": f"Basic {basic}"}
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    async with harness.client() as c:
        r = await c.post("/oauth/token", json={"grant_type": "client_credentials", **creds})
        assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
        r = await c.post(
            "/oauth/token",
            content=b"grant_type=client_credentials&grant_type=client_credentials",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


async def test_sponsor_endpoints_take_only_genuine_live_access_tokens(harness, clock):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    assert (await configuration(harness, s.access_token)).status_code == 200

    header, payload, signature = s.access_token.split(".")
    claims = jwt.decode(s.access_token, options={"verify_signature": False})
    forged = jwt.encode(claims, b"k" * 32, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    tampered = f"{header}.{payload[:-2]}AA.{signature}"
    for token in (None, harness.sandbox_key, forged, unsigned, tampered, "garbage"):
        r = await configuration(harness, token) if token else None
        if r is None:
            async with harness.client() as c:
                r = await c.get(f"/v1/sponsors/{SPONSOR}/configuration")
        assert r.status_code == 401, token
        assert r.json()["error_code"] == "invalid_token"
        assert r.headers["www-authenticate"].startswith("Bearer")
        async with harness.client(token) as c:
            sent = await c.post(
                "/v1/otp/send",
                json={
                    "beneficiary_id": "bnf_phone_only",
                    "sponsor_slug": SPONSOR,
                    "channel": "SMS",
                },
            )
        assert sent.status_code == 401
    assert await harness.messages("+14155550123") == []

    clock.advance(3599)
    assert (await configuration(harness, s.access_token)).status_code == 200
    clock.advance(1)
    r = await configuration(harness, s.access_token)
    assert r.status_code == 401 and "expired" in r.json()["message"]


async def test_signing_key_survives_a_restart(harness, settings, clock):
    """A second app on the same database (another process, a restart) accepts the token."""
    from otpgate.testing.app import running_app

    s = await set_up_sponsor(harness, harness.sandbox_key)
    async with running_app(settings, clock=clock) as second, second.client(s.access_token) as c:
        r = await c.get(f"/v1/sponsors/{SPONSOR}/configuration")
    assert r.status_code == 200


async def test_tokens_are_tenant_scoped(harness):
    await set_up_sponsor(harness, harness.sandbox_key)
    key = await harness.create_key(Environment.SANDBOX, "globex")
    from tests.integration.sponsor_support import access_token

    theirs = await access_token(harness, key)
    r = await configuration(harness, theirs)
    assert r.status_code == 404
