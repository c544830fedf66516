"""Every bad input answers a 4xx JSON body whose ``msg`` names the problem; none a 500,
none leaves half-written state, none burns a code attempt."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from otpgate.adapters.sql.tables import evaluations, outbox, sessions
from otpgate.testing.app import Harness

from .evalkit import PHONE, code_body, patch, start

OK_IND = {"phone_number": PHONE}


def _post(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": "bad-1", "workflow": "otp_verification"}
    body["data"] = {"individual": dict(OK_IND)}
    for key, value in overrides.items():
        if key.startswith("individual__"):
            body["data"]["individual"][key.removeprefix("individual__")] = value
        else:
            body[key] = value
    return body


def _without(key: str) -> dict[str, Any]:
    body = _post()
    del body[key]
    return body


async def _assert_refused(r: httpx.Response, *mentions: str, status: int = 400) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("msg"), str) and body["msg"]
    assert "Traceback" not in r.text
    for word in mentions:
        assert word in body["msg"] or word == body.get("field"), (word, body)
    return body


async def _nothing_written(harness: Harness) -> None:
    assert await harness.messages(PHONE) == []
    async with harness.services.engine.connect() as conn:
        for table in (evaluations, sessions, outbox):
            count = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            assert count == 0, table.name


# -- POST: the body itself -------------------------------------------------------

RAW_BODIES = [
    (b"{not json", "body"),
    (b"", "body"),
    (b"[]", "body"),
    (b'"a string"', "body"),
    (b"42", "body"),
    (b"null", "body"),
    (b'{"id": "x", "workflow": "otp_verification", "data": {"individual": {}}', "body"),
    (b"\xff\xfe\x00garbage", "body"),
    (b"[" * 5000 + b"]" * 5000, "body"),
]


@pytest.mark.parametrize(("raw", "field"), RAW_BODIES)
async def test_malformed_bodies_are_400(
    harness: Harness, sandbox: httpx.AsyncClient, raw: bytes, field: str
) -> None:
    r = await sandbox.post(
        "/api/evaluation", content=raw, headers={"Content-Type": "application/json"}
    )
    assert 400 <= r.status_code < 500, r.text
    body = r.json()
    assert body["msg"]
    await _nothing_written(harness)


async def test_a_body_that_is_not_declared_json_is_refused(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    r = await sandbox.post(
        "/api/evaluation",
        content=json.dumps(_post()).encode(),
        headers={"Content-Type": "text/plain"},
    )
    await _assert_refused(r, "body")
    await _nothing_written(harness)


BAD_POSTS = [
    (_without("id"), "id"),
    (_without("workflow"), "workflow"),
    (_without("data"), "data"),
    ({"id": "bad-1", "workflow": "otp_verification", "data": {}}, "data.individual"),
    (_post(id=123), "id"),
    (_post(id=""), "id"),
    (_post(id=None), "id"),
    (_post(id="x" * 256), "id"),
    (_post(id=["a"]), "id"),
    (_post(workflow="no_such_workflow"), "workflow"),
    (_post(workflow=""), "workflow"),
    (_post(workflow=7), "workflow"),
    (_post(workflow="w" * 121), "workflow"),
    (_post(timestamp="yesterday"), "timestamp"),
    (_post(timestamp=1727690400), "timestamp"),
    (_post(data=[]), "data"),
    (_post(data="individual"), "data"),
    ({**_post(), "data": {"individual": []}}, "data.individual"),
    ({**_post(), "data": {"individual": "jane"}}, "data.individual"),
    ({**_post(), "data": {"individual": {}}}, "data.individual.phone_number"),
    ({**_post(), "data": {"individual": {"phone_number": None}}}, "phone_number"),
    (_post(individual__address=[]), "data.individual.address"),
    (_post(individual__address="1 Main St"), "data.individual.address"),
    (_post(individual__otp=[]), "data.individual.otp"),
    (_post(individual__otp={"channel": "fax"}), "data.individual.otp.channel"),
    (_post(individual__otp={"channel": ["sms"]}), "data.individual.otp.channel"),
]
PHONES = [
    "12345",
    "+1 555",
    "+1 000 000 0000",
    "+1 415 555 01",
    "+999 123456789",
    "+44 20",
    "phone",
    "+14155550100ext",
    "+1" + "4" * 38,
    "+" + "1" * 45,
    "",
    "   ",
    "+1\u0000415555",
]
EMAILS = [
    "jane",
    "jane@",
    "@example.com",
    "jane@@example.com",
    "jane@example",
    "jane doe@example.com",
    "jane@exa mple.com",
    "a" * 65 + "@example.com",
    "a@" + "b" * 320 + ".com",
    "",
    "<script>@x.com",
]
BAD_POSTS += [(_post(individual__phone_number=p), "data.individual.phone_number") for p in PHONES]
BAD_POSTS += [(_post(individual__phone_number=14155550100), "data.individual.phone_number")]
BAD_POSTS += [
    ({**_post(), "data": {"individual": {"email": e}}}, "data.individual.email") for e in EMAILS
]
BAD_POSTS += [
    ({**_post(), "data": {"individual": {"email": ["jane@example.com"]}}}, "data.individual.email")
]
BAD_POSTS += [
    (_post(individual__given_name="J" * 201), "data.individual.given_name"),
    (_post(individual__given_name=42), "data.individual.given_name"),
    (_post(individual__address={"line_1": "x" * 201}), "data.individual.address.line_1"),
    (_post(individual__address={"country": "USA"}), "data.individual.address.country"),
    (_post(individual__locale="x" * 17), "data.individual.locale"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_POSTS, ids=lambda v: repr(v)[:60])
async def test_bad_posts_are_400_naming_the_field(
    harness: Harness, sandbox: httpx.AsyncClient, payload: dict[str, Any], field: str
) -> None:
    r = await sandbox.post("/api/evaluation", json=payload)
    body = await _assert_refused(r)
    assert field in body["msg"] or body.get("field", "").startswith(field), body
    await _nothing_written(harness)


async def test_oversized_bodies_are_413(harness: Harness, sandbox: httpx.AsyncClient) -> None:
    limit = harness.services.settings.max_body_bytes
    payload = _post(individual__padding="x" * (limit + 10))
    r = await sandbox.post("/api/evaluation", json=payload)
    body = await _assert_refused(r, status=413)
    assert "body" in body["msg"]
    await _nothing_written(harness)


async def test_oversized_chunked_body_is_413(harness: Harness, sandbox: httpx.AsyncClient) -> None:
    limit = harness.services.settings.max_body_bytes
    chunk = b" " * 8192

    async def stream():
        yield b'{"id": "bad-1", "workflow": "otp_verification", "pad": "'
        for _ in range(limit // len(chunk) + 2):
            yield chunk
        yield b'", "data": {"individual": {"phone_number": "+14155550100"}}}'

    r = await sandbox.post(
        "/api/evaluation", content=stream(), headers={"Content-Type": "application/json"}
    )
    await _assert_refused(r, status=413)
    await _nothing_written(harness)


async def test_a_body_just_under_the_limit_is_served(sandbox: httpx.AsyncClient) -> None:
    body = _post(individual__note="x" * 60_000)
    assert len(json.dumps(body)) < 64 * 1024
    r = await sandbox.post("/api/evaluation", json=body)
    assert r.status_code == 200


NUL_AND_SURROGATES = [
    (
        b'{"id": "\\ud800", "workflow": "otp_verification",'
        b' "data": {"individual": {"phone_number": "+14155550100"}}}',
        "id",
    ),
    (
        b'{"id": "nul\\u0000id", "workflow": "otp_verification",'
        b' "data": {"individual": {"phone_number": "+14155550100"}}}',
        "id",
    ),
    (
        b'{"id": "bad-1", "workflow": "otp\\u0000",'
        b' "data": {"individual": {"phone_number": "+14155550100"}}}',
        "workflow",
    ),
    (
        b'{"id": "bad-1", "workflow": "individual_onboarding",'
        b' "data": {"individual": {"phone_number": "+14155550100", "given_name": "\\udfff"}}}',
        "data.individual.given_name",
    ),
    (
        b'{"id": "bad-1", "workflow": "individual_onboarding", "data": {"individual":'
        b' {"phone_number": "+14155550100", "address": {"line_1": "1\\u0000 Main"}}}}',
        "data.individual.address.line_1",
    ),
]


@pytest.mark.parametrize(("raw", "field"), NUL_AND_SURROGATES)
async def test_nul_characters_and_lone_surrogates_are_refused(
    harness: Harness, sandbox: httpx.AsyncClient, raw: bytes, field: str
) -> None:
    """PostgreSQL cannot store NUL in text: refused up front, on every database alike."""
    r = await sandbox.post(
        "/api/evaluation", content=raw, headers={"Content-Type": "application/json"}
    )
    body = await _assert_refused(r)
    assert body["field"] == field
    await _nothing_written(harness)


async def test_nul_in_a_patch_request_id_is_refused(
    sandbox: httpx.AsyncClient,
) -> None:
    ev = await start(sandbox)
    r = await patch(sandbox, ev["eval_id"], code_body("123456", id="v\x00"))
    body = await _assert_refused(r)
    assert body["field"] == "id"


# -- PATCH -----------------------------------------------------------------------


@pytest.fixture
async def pending(harness: Harness, live: httpx.AsyncClient) -> dict[str, Any]:
    return await start(live)


BAD_PATCHES = [
    ({"data": {"individual": {"otp": {"code": "123456"}}}}, "id"),
    ({"id": 5, "data": {"individual": {"otp": {"code": "123456"}}}}, "id"),
    ({"id": "p", "data": {"individual": {"otp": {"code": 123456}}}}, "data.individual.otp.code"),
    ({"id": "p", "data": {"individual": {"otp": {"code": None}}}}, "data.individual.otp"),
    ({"id": "p", "data": {"individual": {"otp": {"code": ["1"]}}}}, "data.individual.otp.code"),
    ({"id": "p", "data": {"individual": {"otp": {"resend": "true"}}}}, "otp.resend"),
    ({"id": "p", "data": {"individual": {"otp": {"resend": 1}}}}, "otp.resend"),
    ({"id": "p", "data": {"individual": {"otp": {"resend": False}}}}, "data.individual.otp"),
    ({"id": "p", "data": {"individual": {"otp": []}}}, "data.individual.otp"),
    ({"id": "p", "data": {"individual": {"otp": "123456"}}}, "data.individual.otp"),
    ({"id": "p", "data": {"individual": []}}, "data.individual"),
    ({"id": "p", "data": []}, "data"),
    ({"id": "p", "actions": {"resume": "yes"}}, "actions.resume"),
    ({"id": "p", "actions": {"resume": 1}}, "actions.resume"),
    ({"id": "p", "actions": []}, "actions"),
    ({"id": "p", "actions": {}}, "actions.resume"),
    ({"id": "p"}, "data.individual.otp"),
    ({"id": "p", "timestamp": "not a time", "actions": {"resume": True}}, "timestamp"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_PATCHES, ids=lambda v: repr(v)[:60])
async def test_bad_patches_are_400_and_change_nothing(
    harness: Harness,
    live: httpx.AsyncClient,
    pending: dict[str, Any],
    payload: dict[str, Any],
    field: str,
) -> None:
    r = await patch(live, pending["eval_id"], payload)
    body = await _assert_refused(r)
    assert field in body["msg"] or body.get("field", "").startswith(field), body
    now = (await live.get(f"/api/evaluation/{pending['eval_id']}")).json()
    assert now["status"] == "ON_HOLD" and now["attempts_remaining"] == 5
    assert now["data_enrichments"] == pending["data_enrichments"]
    assert len(await harness.messages(PHONE)) == 1


BAD_CODES = ["12345", "1234567", "12a456", "", "      ", " 123456", "123456 ", "１２３４５６"]
BAD_CODES += ["-12345", "+12345", "12.456", "1e5678", "x" * 20, "٣٣٣٣٣٣"]


@pytest.mark.parametrize("code", BAD_CODES)
async def test_malformed_codes_do_not_burn_an_attempt(
    harness: Harness, live: httpx.AsyncClient, pending: dict[str, Any], code: str
) -> None:
    r = await patch(live, pending["eval_id"], code_body(code))
    body = await _assert_refused(r)
    assert "code" in body["msg"] or "code" in body.get("field", "")
    now = (await live.get(f"/api/evaluation/{pending['eval_id']}")).json()
    assert now["attempts_remaining"] == 5 and now["status"] == "ON_HOLD"
    right = await harness.last_code(PHONE)
    ok = await patch(live, pending["eval_id"], code_body(right))
    assert ok.status_code == 200


async def test_an_oversized_code_is_refused(
    live: httpx.AsyncClient, pending: dict[str, Any]
) -> None:
    r = await patch(live, pending["eval_id"], code_body("1" * 5000))
    await _assert_refused(r, "code")


@pytest.mark.parametrize(
    "eval_id",
    ["abc", "123", "not-a-uuid-at-all", "x" * 300, "%00", "..%2F..%2Fetc", "' OR 1=1 --"],
)
async def test_malformed_eval_ids_are_4xx(sandbox: httpx.AsyncClient, eval_id: str) -> None:
    got = await sandbox.get(f"/api/evaluation/{eval_id}")
    patched = await sandbox.patch(f"/api/evaluation/{eval_id}", json=code_body("123456"))
    for r in (got, patched):
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["msg"]


async def test_a_uuid_in_another_spelling_finds_the_evaluation(
    sandbox: httpx.AsyncClient,
) -> None:
    ev = await start(sandbox)
    r = await sandbox.get(f"/api/evaluation/{ev['eval_id'].upper()}")
    assert r.status_code == 200 and r.json()["eval_id"] == ev["eval_id"]


@pytest.mark.parametrize("method", ["DELETE", "PUT"])
async def test_other_methods_answer_json(sandbox: httpx.AsyncClient, method: str) -> None:
    r = await sandbox.request(method, "/api/evaluation")
    assert r.status_code == 405 and r.json()["msg"]


async def test_unknown_paths_answer_json(sandbox: httpx.AsyncClient) -> None:
    r = await sandbox.get("/api/evaluations")
    assert r.status_code == 404 and r.json()["msg"]


async def test_timestamp_may_be_left_out_or_be_a_date_without_a_time(
    sandbox: httpx.AsyncClient,
) -> None:
    """Lenient where the guide says "required, RFC 3339" (README "Notes on the guide")."""
    for n, extra in enumerate([{}, {"timestamp": "2025-09-30"}]):
        body = {
            "id": f"lenient-{n}",
            "workflow": "otp_verification",
            "data": {"individual": {"phone_number": f"+1415555012{n}"}},
            **extra,
        }
        r = await sandbox.post("/api/evaluation", json=body)
        assert r.status_code == 200, r.text
        patched = {
            "id": f"lenient-code-{n}",
            **extra,
            "data": {"individual": {"otp": {"code": "123456"}}},
        }
        r = await sandbox.patch(f"/api/evaluation/{r.json()['eval_id']}", json=patched)
        assert r.status_code == 200, r.text
