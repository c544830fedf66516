"""The gateway's continue and status requests on the core's TTL, attempts and lockout."""

from __future__ import annotations

from typing import Any

from otpgate.core.clock import FakeClock
from otpgate.core.model import Environment
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.support.gateway import TOKEN, assert_envelope, cont, initial, send, start

PASSED = ("PASS", "ALL CHECKS PASSED")
MISMATCH = ("FAIL", "FAILED OUT-OF-BAND CHECK")
PHONE = "+12015106000"


async def status(c: Any, token: str, **extra: Any) -> Any:
    return await c.post("/process/status", json={"token": token, **extra})


async def test_right_code_passes_with_a_final_token_that_status_accepts(
    harness: Harness,
) -> None:
    async with harness.client() as c:
        token = await start(c, harness.production_key)
        r = await cont(c, token, await harness.last_code(PHONE))
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"output", "meta", "result", "final"}
        assert_envelope(body, *PASSED)
        assert body["result"]["issues"] == []
        assert body["output"] == {"codematch": {"key_matched": True}}
        assert body["final"]["url"] == "/process/status"
        final = body["final"]["template"]["token"]
        assert TOKEN.fullmatch(final) and final != token
        meta = body["meta"]
        assert (meta["reference"], meta["service"], meta["company"], meta["user"]) == (
            "12345",
            "PhoneMatch5.0.SMS",
            "acme",
            "acme",
        )

        s = await status(c, final)
        again = await status(c, final)
    assert s.status_code == 200
    assert_envelope(s.json(), *PASSED)
    assert s.json()["output"] == {"codematch": {"key_matched": True}}
    assert s.json()["meta"]["confirmation"] == meta["confirmation"]
    assert s.json()["meta"]["reference"] == "12345"
    assert again.json() == s.json()


async def test_wrong_code_fails_and_keeps_the_token_open(harness: Harness) -> None:
    async with harness.client() as c:
        token = await start(c, harness.production_key)
        code = await harness.last_code(PHONE)
        wrong = "111111" if code != "111111" else "222222"
        r = await cont(c, token, wrong)
        assert r.status_code == 200
        body = r.json()
        assert_envelope(body, *MISMATCH)
        assert body["output"] == {"codematch": {"key_matched": False}}
        assert "4 attempts remain" in body["result"]["issues"][0]
        assert "final" not in body
        assert body["continuations"]["outofband"]["template"] == {
            "token": token,
            "codematch": {"key": None},
        }
        assert_envelope((await cont(c, token, code)).json(), *PASSED)


async def test_sandbox_codes_follow_the_sandbox_rules(harness: Harness) -> None:
    async with harness.client() as c:
        token = await start(c, harness.sandbox_key)
        assert_envelope((await cont(c, token, "000000")).json(), *MISMATCH)
        assert_envelope((await cont(c, token, "482913")).json(), *PASSED)


async def test_a_used_token_gets_a_clear_fail(harness: Harness) -> None:
    async with harness.client() as c:
        token = await start(c, harness.sandbox_key)
        assert (await cont(c, token, "123456")).status_code == 200
        r = await cont(c, token, "123456")
    assert r.status_code == 404
    assert_envelope(r.json(), "FAIL", "INVALID TOKEN")
    assert r.json()["result"]["issues"] == [
        "the token is unknown, expired or has already been used"
    ]


async def test_fifth_wrong_code_closes_the_transaction_and_locks_the_number(
    harness: Harness,
) -> None:
    async with harness.client() as c:
        token = await start(c, harness.sandbox_key)
        for left in (4, 3, 2, 1):
            body = (await cont(c, token, "000000")).json()
            assert_envelope(body, *MISMATCH)
            assert "continuations" in body and str(left) in body["result"]["issues"][0]
        last = (await cont(c, token, "000000")).json()
        assert_envelope(last, *MISMATCH)
        assert "continuations" not in last
        assert last["result"]["issues"] == ["too many wrong codes: the transaction is closed"]
        final = last["final"]["template"]["token"]

        assert (await cont(c, token, "123456")).status_code == 404
        s = (await status(c, final)).json()
        assert_envelope(s, *MISMATCH)
        assert s["output"] == {"codematch": {"key_matched": False}}

        locked = await send(c, initial(harness.sandbox_key))
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 500
    assert_envelope(locked.json(), "FAIL", "TOO MANY REQUESTS")


async def test_code_after_the_ttl_is_a_fail_with_a_final_token(
    harness: Harness, clock: FakeClock
) -> None:
    async with harness.client() as c:
        token = await start(c, harness.production_key)
        code = await harness.last_code(PHONE)
        clock.advance(601)
        r = await cont(c, token, code)
        body = r.json()
        assert r.status_code == 200
        assert_envelope(body, *MISMATCH)
        assert body["output"] == {"codematch": {"key_matched": False}}
        assert body["result"]["issues"] == ["the code has expired: the transaction is closed"]
        assert_envelope((await status(c, body["final"]["template"]["token"])).json(), *MISMATCH)
        assert (await cont(c, token, code)).status_code == 404


async def test_malformed_key_fails_without_spending_an_attempt(harness: Harness) -> None:
    async with harness.client() as c:
        token = await start(c, harness.sandbox_key)
        for key in ("12345", "1234567", "12a456"):  # the document's sample key is 5 digits
            body = (await cont(c, token, key)).json()
            assert_envelope(body, *MISMATCH)
            assert body["result"]["issues"] == ["codematch.key must be 6 digits"]
            assert "continuations" in body
        for _ in range(4):
            await cont(c, token, "000000")
        assert_envelope((await cont(c, token, "123456")).json(), *PASSED)


async def test_tokens_are_scoped_to_their_tenant_when_credentials_come_along(
    harness: Harness,
) -> None:
    other = await harness.create_key(Environment.SANDBOX, "globex")
    async with harness.client() as c:
        token = await start(c, harness.sandbox_key)
        foreign = await cont(c, token, "123456", user="globex", **{"pass": other})
        assert foreign.status_code == 404
        assert_envelope(foreign.json(), "FAIL", "INVALID TOKEN")
        own = await cont(c, token, "123456", user="acme", **{"pass": harness.sandbox_key})
        assert_envelope(own.json(), *PASSED)
        final = own.json()["final"]["template"]["token"]
        assert (await status(c, final, user="globex", **{"pass": other})).status_code == 404
        bad = await status(c, final, user="acme", **{"pass": other})
        assert bad.status_code == 401
        assert (
            await status(c, final, user="acme", **{"pass": harness.sandbox_key})
        ).status_code == 200


async def test_unknown_tokens_get_a_clear_fail(harness: Harness) -> None:
    async with harness.client() as c:
        for token in ("o76m3nvz94jvaatfsmespzgx3qkzjjl1", "short", "UPPER" * 6 + "AA"):
            r = await cont(c, token, "123456")
            assert r.status_code == 404
            assert_envelope(r.json(), "FAIL", "INVALID TOKEN")
        r = await status(c, "1x6mvu6b4kuwonduqw8b1nsj7jpxgaza")
        assert r.status_code == 404
        assert_envelope(r.json(), "FAIL", "INVALID TOKEN")
        # A continuation token is not a final token.
        token = await start(c, harness.sandbox_key)
        assert (await status(c, token)).status_code == 404


async def test_tokens_are_stored_hashed(harness: Harness) -> None:
    from sqlalchemy import select

    from otpgate.adapters.sql.tables import gateway_transactions

    async with harness.client() as c:
        token = await start(c, harness.sandbox_key)
        final = (await cont(c, token, "123456")).json()["final"]["template"]["token"]
    async with harness.services.engine.connect() as conn:
        rows = (await conn.execute(select(gateway_transactions))).all()
    stored = " ".join(str(v) for row in rows for v in row)
    assert token not in stored and final not in stored
    assert PHONE not in stored


async def test_verify_rate_limit_answers_429(db_url: str, clock: FakeClock) -> None:
    settings = Settings(database_url=db_url, verify_limit_per_minute=2, _env_file=None)  # type: ignore[call-arg]
    async with running_app(settings, clock=clock) as h, h.client() as c:
        token = await start(c, h.sandbox_key)
        assert [(await cont(c, token, "000000")).status_code for _ in range(2)] == [200, 200]
        r = await cont(c, token, "123456")
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert_envelope(r.json(), "FAIL", "TOO MANY REQUESTS")
        clock.advance(61)
        assert_envelope((await cont(c, token, "123456")).json(), *PASSED)
