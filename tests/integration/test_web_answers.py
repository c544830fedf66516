"""Answers of the shared web layer that each API depends on, through the real app.

- The admin API (``/v1/admin/…``, ``/v1/outbox``) checks the key before it reads the
  request: a caller without a valid key learns nothing about its body or query.
- A conflicting PATCH answers with the evaluation as it stands and the PATCH's own id.
- Rules that moved out of the routes still hold over HTTP: magic numbers only with a
  sandbox key, a beneficiary needs a phone or an email, the sponsor API takes access
  tokens, not API keys.
"""

from __future__ import annotations

import httpx

from otpgate.testing.app import Harness
from tests.integration.evalkit import PHONE, code_body, patch, start, start_body
from tests.integration.sponsor_support import SPONSOR, set_up_sponsor

JSON = {"content-type": "application/json"}


async def test_the_admin_api_refuses_a_missing_key_before_reading_the_body(
    harness: Harness,
) -> None:
    async with harness.client() as anonymous, harness.client("og_live_" + "x" * 40) as wrong:
        put = await anonymous.put("/v1/admin/sponsors/acme", content=b"{nope", headers=JSON)
        outbox = await wrong.get("/v1/outbox", params={"destination": "\x00", "limit": 0})
    assert put.status_code == 401, put.text
    assert put.json() == {"msg": "missing API key: send Authorization: Bearer <key>"}
    assert put.headers["www-authenticate"] == "Bearer"
    assert outbox.status_code == 401 and outbox.json() == {"msg": "invalid API key"}


async def test_the_admin_api_words_a_malformed_request_as_field_and_reason(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    not_json = await sandbox.put("/v1/admin/sponsors/acme", content=b"{nope", headers=JSON)
    missing = await sandbox.put("/v1/admin/sponsors/acme", json={})
    limit = await sandbox.get("/v1/outbox", params={"limit": 0})
    assert not_json.status_code == 400
    assert not_json.json() == {"msg": "the body must be a JSON object", "field": "body"}
    assert missing.json() == {"msg": "name: Field required", "field": "name"}
    assert limit.status_code == 400 and limit.json()["field"] == "limit"


async def test_a_conflicting_patch_answers_the_evaluation_with_the_patchs_id(
    harness: Harness, live: httpx.AsyncClient
) -> None:
    ev = await start(live)
    code = await harness.last_code(PHONE)
    assert (await patch(live, ev["eval_id"], code_body(code))).status_code == 200
    late = await patch(live, ev["eval_id"], code_body(code, id="late-1"))
    assert late.status_code == 409
    body = late.json()
    assert body["id"] == "late-1" and body["eval_id"] == ev["eval_id"]
    assert body["status"] == "CLOSED" and body["msg"]


async def test_a_production_key_cannot_name_a_magic_number(
    sandbox: httpx.AsyncClient, live: httpx.AsyncClient
) -> None:
    refused = await live.post("/api/evaluation", json=start_body(phone="+11234567890"))
    accepted = await sandbox.post("/api/evaluation", json=start_body(phone="+11234567890"))
    assert refused.status_code == 400
    assert refused.json()["field"] == "data.individual.phone_number"
    assert accepted.status_code == 200, accepted.text


async def test_a_beneficiary_needs_a_phone_or_an_email(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    await set_up_sponsor(harness, harness.sandbox_key)
    path = f"/v1/admin/sponsors/{SPONSOR}/beneficiaries/bnf_nothing"
    for body in ({}, {"phone_number": "", "email": None}):
        r = await sandbox.put(path, json=body)
        assert r.status_code == 400, r.text
        assert r.json() == {
            "msg": "a beneficiary needs a phone_number or an email",
            "field": "phone_number",
        }
    assert (await sandbox.get(path)).status_code == 404


async def test_the_sponsor_api_points_an_api_key_to_the_token_endpoint(
    harness: Harness,
) -> None:
    async with harness.client(harness.sandbox_key) as c:
        r = await c.post(
            "/v1/otp/send",
            json={"beneficiary_id": "bnf_1", "sponsor_slug": SPONSOR, "channel": "SMS"},
        )
    assert r.status_code == 401
    assert r.json() == {
        "error_code": "invalid_token",
        "message": "this API takes OAuth access tokens; exchange your key at POST /oauth/token",
    }
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
