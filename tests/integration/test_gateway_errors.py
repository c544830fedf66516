"""Bad input to the gateway: a FAIL envelope with a clear issue and a 4xx; never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from otpgate.core.model import Environment
from otpgate.testing.app import Harness
from tests.support.gateway import assert_envelope, cont, initial, send, start

INVALID = ("FAIL", "INVALID REQUEST")


async def test_wrong_credentials_answer_alike_whichever_part_is_wrong(harness: Harness) -> None:
    other = await harness.create_key(Environment.SANDBOX, "globex")
    attempts = [
        ("acme", harness.sandbox_key[:-1] + ("x" if harness.sandbox_key[-1] != "x" else "y")),
        ("acme", "PASSWORD"),
        ("nobody", harness.sandbox_key),
        ("Acme", harness.sandbox_key),
        ("acme", other),
    ]
    bodies = []
    async with harness.client() as c:
        for user, password in attempts:
            r = await send(c, initial(password, tenant=user))
            assert r.status_code == 401
            bodies.append(r.json())
    for body in bodies:
        assert_envelope(body, "FAIL", "AUTHENTICATION FAILED")
        assert body["result"]["issues"] == ["invalid user or pass"]
        assert body["meta"]["company"] is None
        assert "continuations" not in body
    assert await harness.services.outbox(None, None, None) == []


async def test_user_must_match_the_tenant_name_exactly(harness: Harness) -> None:
    async with harness.client() as c:
        r = await send(c, initial(harness.sandbox_key, tenant="acme "))
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"service": "PhoneMatch5.0.Fax"}, "unknown service 'PhoneMatch5.0.Fax'"),
        ({"service": "IDMatch5.0"}, "unknown service"),
        ({"options__outofband__message": "Hi {first}, code {pin}"}, "{first}"),
        ({"options__outofband__message": "Hello {fn}, welcome"}, "must contain {pin}"),
        ({"options__outofband__message": "code {pin} {"}, "unmatched brace"),
        ({"options__outofband__message": "   "}, "must not be empty"),
        ({"options__outofband__message": "{pin}" * 200}, "longer than"),
        ({"options__outofband__do_not_send_to_types": ["fax"]}, "'fax'"),
        ({"options__outofband__do_not_send_to_types": "voip"}, "do_not_send_to_types"),
        ({"options__outofband__country__blacklist": ["USA"]}, "'USA'"),
        ({"options__outofband__country__whitelist": ["ISO2 Country Code"]}, "whitelist"),
        ({"options__outofband__country__whitelist": ["1A"]}, "whitelist"),
        ({"options__outofband__country": ["US"]}, "options.outofband.country"),
        ({"target__fn": ...}, "target.fn"),
        ({"target__fn": "x" * 101}, "target.fn"),
        ({"target": "2015106000"}, "target"),
        ({"user": ...}, "user is required"),
        ({"pass": ...}, "pass is required"),
        ({"pass": 12345}, "pass"),
        ({"service": ...}, "service is required"),
        ({"reference": 12345}, "reference"),
    ],
)
async def test_malformed_requests_name_what_is_wrong(
    harness: Harness, changes: dict[str, Any], field: str
) -> None:
    async with harness.client() as c:
        r = await send(c, initial(harness.sandbox_key, **changes))
    assert r.status_code == 400, r.text
    body = r.json()
    assert_envelope(body, *INVALID)
    [issue] = body["result"]["issues"]
    assert field in issue
    assert "continuations" not in body
    assert await harness.services.outbox(None, None, None) == []


PATHS = ["/process/comprehensive/gateway", "/process/continue", "/process/status"]


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"", b"null"])
@pytest.mark.parametrize("path", PATHS)
async def test_json_that_is_not_an_object_gets_the_fail_envelope(
    harness: Harness, raw: bytes, path: str
) -> None:
    async with harness.client() as c:
        r = await c.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert_envelope(r.json(), *INVALID)
    assert r.json()["result"]["issues"] == ["the request body must be a JSON object"]


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"{not json", "line 1, column 2"),
        (b'{"user": "acme",}', "line 1, column 17"),
        (b'{\n  "user": "acme"\n  "pass": "x"\n}', "line 3, column 3"),
    ],
)
@pytest.mark.parametrize("path", PATHS)
async def test_invalid_json_says_so_and_where(
    harness: Harness, raw: bytes, where: str, path: str
) -> None:
    async with harness.client() as c:
        r = await c.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert_envelope(r.json(), *INVALID)
    [issue] = r.json()["result"]["issues"]
    assert issue.startswith("the request body is not valid JSON: ") and issue.endswith(where)


# The document's "Sample Initial Request Body", comments and all.
SAMPLE_WITH_COMMENTS = b"""{
\t"user": "user@company.com",
\t"pass": "PASSWORD",
\t"service": "PhoneMatch5.0.SMS",
\t"reference": "12345",
\t"options": {
\t\t"outofband": {
\t\t\t"message": "Hello {fn}, your one-time password is {pin}",
\t\t\t"do_not_send_to_types": ["voip", "mobile", "landline"],
\t\t\t"country": {
\t\t\t\t"blacklist": ["ISO2 Country Code"], //countries you do not want to send codes
\t\t\t\t"whitelist": ["ISO2 Country Code"] //countries you only want to send codes
\t\t\t}
\t\t}
\t},
\t"target": {"fn": "John", "ln": "Smith", "phone": "2015106000"}
}"""


async def test_the_documents_commented_sample_is_answered_as_invalid_json(
    harness: Harness,
) -> None:
    async with harness.client() as c:
        r = await c.post(
            "/process/comprehensive/gateway",
            content=SAMPLE_WITH_COMMENTS,
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 400
    assert_envelope(r.json(), *INVALID)
    assert r.json()["result"]["issues"] == [
        "the request body is not valid JSON: Expecting property name enclosed in double "
        "quotes at line 11, column 41"
    ]


@pytest.mark.parametrize(
    ("body", "issue"),
    [
        ({"codematch": {"key": "123456"}}, "token is required"),
        ({"token": "o76m3nvz94jvaatfsmespzgx3qkzjjl1"}, "codematch is required"),
        (
            {"token": "o76m3nvz94jvaatfsmespzgx3qkzjjl1", "codematch": {}},
            "codematch.key is required",
        ),
        (
            {"token": "o76m3nvz94jvaatfsmespzgx3qkzjjl1", "codematch": {"key": 123456}},
            "codematch.key",
        ),
        ({"token": 5, "codematch": {"key": "123456"}}, "token"),
    ],
)
async def test_malformed_continue_requests(
    harness: Harness, body: dict[str, Any], issue: str
) -> None:
    async with harness.client() as c:
        r = await c.post("/process/continue", json=body)
    assert r.status_code == 400
    assert_envelope(r.json(), *INVALID)
    assert issue in r.json()["result"]["issues"][0]


async def test_a_malformed_continue_spends_no_attempt(harness: Harness) -> None:
    async with harness.client() as c:
        token = await start(c, harness.sandbox_key)
        for _ in range(6):
            r = await c.post("/process/continue", json={"token": token, "codematch": {"key": None}})
            assert r.status_code == 400
        assert (await cont(c, token, "123456")).json()["result"]["action"] == "PASS"


async def test_wrong_credentials_on_continue_are_refused(harness: Harness) -> None:
    async with harness.client() as c:
        token = await start(c, harness.sandbox_key)
        r = await cont(c, token, "123456", user="acme", **{"pass": "og_sandbox_" + "a" * 40})
        assert r.status_code == 401
        assert_envelope(r.json(), "FAIL", "AUTHENTICATION FAILED")
        r = await cont(c, token, "123456", user="acme")
        assert r.status_code == 401
        assert (await cont(c, token, "123456")).json()["result"]["action"] == "PASS"


async def test_oversized_body_is_refused(harness: Harness) -> None:
    body = initial(harness.sandbox_key, reference="x" * 70_000)
    async with harness.client() as c:
        r = await send(c, body)
    assert r.status_code == 413
