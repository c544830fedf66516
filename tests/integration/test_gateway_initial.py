"""The gateway's initial request: every action/detail row of the document's table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.support.gateway import TOKEN, assert_envelope, initial, send

PENDING = ("PENDING", "TRANSACTION REQUIRES FURTHER ATTENTION")
SUPPRESSED = ("FAIL", "SUPPRESSED SENDING CODE")
DATA_CHECK = ("FAIL", "DATA CHECK FAILED")
NOT_SENT = ("FAIL", "FAILED TO SEND TO NUMBER")


async def test_pending_answers_the_documented_shape_and_sends_the_callers_message(
    harness: Harness,
) -> None:
    async with harness.client() as c:
        r = await send(c, initial(harness.sandbox_key))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"output", "meta", "result", "continuations"}
    assert body["output"] == {"outofband": {}}
    assert_envelope(body, *PENDING)
    assert body["result"]["issues"] == []
    meta = body["meta"]
    assert (meta["reference"], meta["service"]) == ("12345", "PhoneMatch5.0.SMS")
    assert (meta["company"], meta["user"]) == ("acme", "acme")
    oob = body["continuations"]["outofband"]
    assert oob["url"] == "/process/continue"
    assert TOKEN.fullmatch(oob["template"]["token"])
    assert oob["template"]["codematch"] == {"key": None}
    assert oob["instructions"].startswith("A code has been delivered to the provided number.")

    code = await harness.last_code("+12015106000")
    assert await harness.messages("+12015106000") == [
        f"Hello John, your one-time password is {code}"
    ]


async def test_each_request_gets_its_own_token_and_confirmation(harness: Harness) -> None:
    async with harness.client() as c:
        first = (await send(c, initial(harness.sandbox_key))).json()
        second = (await send(c, initial(harness.sandbox_key))).json()
    tokens = {b["continuations"]["outofband"]["template"]["token"] for b in (first, second)}
    assert len(tokens) == 2
    assert first["meta"]["confirmation"] != second["meta"]["confirmation"]


async def test_last_name_is_substituted_and_defaults_apply_without_options(
    harness: Harness,
) -> None:
    async with harness.client() as c:
        r = await send(
            c, initial(harness.sandbox_key, options__outofband__message="{ln}: code {pin}")
        )
        assert r.json()["result"]["action"] == "PENDING"
        assert (await harness.messages("+12015106000"))[0].startswith("Smith: code ")
        r = await send(c, initial(harness.sandbox_key, options=..., target__phone="+14155550100"))
    assert r.json()["result"]["action"] == "PENDING"
    assert "verification code" in (await harness.messages("+14155550100"))[0]


@pytest.mark.parametrize(
    ("phone", "excluded"),
    [
        ("+447400123456", ["mobile"]),
        ("+441212345678", ["landline"]),
        ("+33912345678", ["voip"]),
        ("2015106000", ["mobile", "landline"]),
        ("2015106000", ["voip", "mobile", "landline"]),
    ],
)
async def test_excluded_line_type_suppresses_the_send(
    harness: Harness, phone: str, excluded: list[str]
) -> None:
    body = initial(
        harness.sandbox_key,
        target__phone=phone,
        options__outofband__do_not_send_to_types=excluded,
        options__outofband__country=...,
    )
    async with harness.client() as c:
        r = await send(c, body)
    assert r.status_code == 200
    assert_envelope(r.json(), *SUPPRESSED)
    assert "continuations" not in r.json()
    assert "do_not_send_to_types" in r.json()["result"]["issues"][0]
    assert await harness.services.outbox(None, None, None) == []


async def test_the_documents_sample_request_excludes_every_line_type(harness: Harness) -> None:
    from tests.support.gateway import SAMPLE_INITIAL

    body = {**SAMPLE_INITIAL, "user": "acme", "pass": harness.sandbox_key}
    async with harness.client() as c:
        r = await send(c, body)
    assert_envelope(r.json(), *SUPPRESSED)


@pytest.mark.parametrize(
    ("phone", "excluded"),
    [
        ("2015106000", ["mobile"]),  # a US number may be either: one exclusion is not a match
        ("+447400123456", ["landline", "voip"]),
    ],
)
async def test_other_line_types_are_sent(harness: Harness, phone: str, excluded: list[str]) -> None:
    body = initial(
        harness.sandbox_key,
        target__phone=phone,
        options__outofband__do_not_send_to_types=excluded,
        options__outofband__country=...,
    )
    async with harness.client() as c:
        r = await send(c, body)
    assert_envelope(r.json(), *PENDING)


@pytest.mark.parametrize(
    ("changes", "issue"),
    [
        ({"target__phone": "12345"}, "target.phone"),
        ({"target__phone": "+1 201 510 600"}, "target.phone"),
        ({"target__phone": 2015106000}, "target.phone"),
        ({"target__phone": ...}, "target.phone is required"),
        ({"target": ..., "options": ...}, "target.phone is required"),
        ({"options__outofband__country__blacklist": ["US"]}, "blacklisted"),
        ({"options__outofband__country__whitelist": ["GB", "FR"]}, "not whitelisted"),
        ({"target__phone": "+447400123456"}, "not whitelisted"),
    ],
)
async def test_invalid_number_or_refused_country_fails_the_data_check(
    harness: Harness, changes: dict[str, object], issue: str
) -> None:
    async with harness.client() as c:
        r = await send(c, initial(harness.sandbox_key, **changes))
    assert r.status_code == 200
    assert_envelope(r.json(), *DATA_CHECK)
    assert issue in r.json()["result"]["issues"][0]
    assert "continuations" not in r.json()
    assert await harness.services.outbox(None, None, None) == []


async def test_country_lists_take_lowercase_codes(harness: Harness) -> None:
    async with harness.client() as c:
        r = await send(
            c, initial(harness.sandbox_key, options__outofband__country={"blacklist": ["us"]})
        )
    assert_envelope(r.json(), *DATA_CHECK)


async def test_sandbox_magic_number_fails_delivery(harness: Harness) -> None:
    async with harness.client() as c:
        r = await send(c, initial(harness.sandbox_key, target__phone="+11234567890"))
    assert r.status_code == 200
    assert_envelope(r.json(), *NOT_SENT)
    assert "continuations" not in r.json()


async def test_magic_number_is_only_magic_in_the_sandbox(harness: Harness) -> None:
    async with harness.client() as c:
        r = await send(c, initial(harness.production_key, target__phone="+11234567890"))
    assert_envelope(r.json(), *DATA_CHECK)


@pytest.fixture
async def no_sms_provider(db_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = Settings(database_url=db_url, sms_providers="", _env_file=None)  # type: ignore[call-arg]
    async with running_app(settings) as h:
        yield h


async def test_production_delivery_failure_fails_to_send(no_sms_provider: Harness) -> None:
    h = no_sms_provider
    async with h.client() as c:
        r = await send(c, initial(h.production_key))
    assert_envelope(r.json(), *NOT_SENT)
    assert "continuations" not in r.json()


async def test_voice_variant_calls_the_number(harness: Harness) -> None:
    async with harness.client() as c:
        r = await send(c, initial(harness.sandbox_key, service="PhoneMatch5.0.Voice"))
    assert_envelope(r.json(), *PENDING)
    assert r.json()["meta"]["service"] == "PhoneMatch5.0.Voice"
    [message] = await harness.services.outbox(None, None, "+12015106000")
    assert message.channel == "voice"


async def test_email_variant_mails_the_target(harness: Harness) -> None:
    async with harness.client() as c:
        r = await send(
            c,
            initial(
                harness.sandbox_key,
                service="PhoneMatch5.0.Email",
                target__phone=...,
                target__email="john.smith@example.com",
            ),
        )
        assert_envelope(r.json(), *PENDING)
        assert "email address" in r.json()["continuations"]["outofband"]["instructions"]
        [message] = await harness.services.outbox(None, None, "john.smith@example.com")
        assert message.channel == "email"
        bad = await send(
            c,
            initial(harness.sandbox_key, service="PhoneMatch5.0.Email", target__email="nope@"),
        )
    assert_envelope(bad.json(), *DATA_CHECK)
    assert "target.email" in bad.json()["result"]["issues"][0]


async def test_too_many_sends_to_one_number_are_refused_with_retry_after(
    harness: Harness,
) -> None:
    async with harness.client() as c:
        for _ in range(5):
            assert (await send(c, initial(harness.sandbox_key))).json()["result"]["action"] == (
                "PENDING"
            )
        r = await send(c, initial(harness.sandbox_key))
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert_envelope(r.json(), "FAIL", "TOO MANY REQUESTS")
    assert r.json()["meta"]["reference"] == "12345"
