"""PATCH resend, resume, repeated request ids, and actions on closed evaluations."""

from __future__ import annotations

import httpx

from otpgate.core.clock import FakeClock
from otpgate.testing.app import Harness

from .evalkit import (
    EMAIL,
    PHONE,
    code_body,
    named,
    patch,
    resend_body,
    resume_body,
    start,
    state,
    wrong,
)


async def test_resend_delivers_the_same_code_without_extending_or_resetting(
    harness: Harness, live: httpx.AsyncClient, clock: FakeClock
) -> None:
    ev = await start(live)
    code = await harness.last_code(PHONE)
    bad = await patch(live, ev["eval_id"], code_body(wrong(code)))
    assert bad.json()["attempts_remaining"] == 4
    clock.advance(120)
    r = await patch(live, ev["eval_id"], resend_body())
    assert r.status_code == 200
    body = r.json()
    assert state(body) == ("ON_HOLD", "Pending OTP Code", "REVIEW")
    assert body["expires_at"] == ev["expires_at"]
    assert body["attempts_remaining"] == 4
    deliveries = named(body, "Deliver OTP")
    assert len(deliveries) == 2
    assert {d["response"]["verificationId"] for d in deliveries} == {
        ev["data_enrichments"][0]["response"]["verificationId"]
    }
    bodies = await harness.messages(PHONE)
    assert len(bodies) == 2 and all(code in b for b in bodies)
    assert "8 min" in bodies[0]  # the resent text tells the time really left
    ok = await patch(live, ev["eval_id"], code_body(code))
    assert ok.status_code == 200 and ok.json()["decision"] == "ACCEPT"


async def test_resend_after_the_ttl_reports_the_expiry(
    harness: Harness, sandbox: httpx.AsyncClient, clock: FakeClock
) -> None:
    ev = await start(sandbox)
    clock.advance(601)
    r = await patch(sandbox, ev["eval_id"], resend_body())
    assert r.status_code == 400 and r.json()["msg"] == "Code expired"
    assert state(r.json()) == ("CLOSED", "Decline", "REJECT")
    assert len(await harness.messages(PHONE)) == 1


async def test_resume_kills_the_code_and_lets_a_new_channel_start(
    harness: Harness, live: httpx.AsyncClient
) -> None:
    ev = await start(live, email=EMAIL)
    code = await harness.last_code(PHONE)
    r = await patch(live, ev["eval_id"], resume_body())
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "CLOSED" and body["decision"] == "REVIEW"
    assert "OTP Not Verified" in body["tags"]
    assert body["eval_status"] == "evaluation_completed"

    dead = await patch(live, ev["eval_id"], code_body(code))
    assert dead.status_code == 409
    assert dead.json()["msg"] and dead.json()["eval_id"] == ev["eval_id"]
    assert state(dead.json()) == state(body)

    switched = await start(live, phone=None, email=EMAIL)
    assert switched["eval_id"] != ev["eval_id"]
    assert named(switched, "Deliver OTP")[0]["enrichment_name"] == "Deliver OTP Email"
    email_code = await harness.last_code(EMAIL)
    ok = await patch(live, switched["eval_id"], code_body(email_code))
    assert ok.status_code == 200 and ok.json()["decision"] == "ACCEPT"


async def test_code_and_resend_on_a_closed_evaluation_answer_409_with_it(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    ev = await start(sandbox)
    assert (await patch(sandbox, ev["eval_id"], code_body("123456"))).status_code == 200
    for body in (code_body("123456"), resend_body(), resume_body()):
        r = await patch(sandbox, ev["eval_id"], body)
        assert r.status_code == 409, body
        out = r.json()
        assert out["msg"]
        assert out["eval_id"] == ev["eval_id"]
        assert state(out) == ("CLOSED", "Approve", "ACCEPT")
    assert len(await harness.messages(PHONE)) == 1


async def test_delivery_failed_evaluation_refuses_codes(sandbox: httpx.AsyncClient) -> None:
    ev = await start(sandbox, phone="+11234567890")
    r = await patch(sandbox, ev["eval_id"], code_body("123456"))
    assert r.status_code == 409
    assert state(r.json()) == ("CLOSED", "Decline", "REJECT")


async def test_repeating_a_request_id_answers_the_same_and_applies_once(
    harness: Harness, live: httpx.AsyncClient
) -> None:
    ev = await start(live)
    code = await harness.last_code(PHONE)
    first = await patch(live, ev["eval_id"], code_body(wrong(code), id="guess-1"))
    again = await patch(live, ev["eval_id"], code_body(wrong(code), id="guess-1"))
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert first.json()["attempts_remaining"] == 4
    current = (await live.get(f"/api/evaluation/{ev['eval_id']}")).json()
    assert current["attempts_remaining"] == 4
    assert len(named(current, "Verify OTP")) == 1

    ok = await patch(live, ev["eval_id"], code_body(code, id="guess-2"))
    ok_again = await patch(live, ev["eval_id"], code_body(code, id="guess-2"))
    assert ok.status_code == ok_again.status_code == 200
    assert ok_again.json() == ok.json()


async def test_repeating_a_resend_id_sends_once(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    ev = await start(sandbox)
    a = await patch(sandbox, ev["eval_id"], resend_body(id="resend-1"))
    b = await patch(sandbox, ev["eval_id"], resend_body(id="resend-1"))
    assert a.status_code == b.status_code == 200 and a.json() == b.json()
    assert len(await harness.messages(PHONE)) == 2


async def test_a_refused_request_id_can_be_used_again(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    """An answer that applied nothing (here a malformed code) is not stored."""
    ev = await start(sandbox)
    bad = await patch(sandbox, ev["eval_id"], code_body("12ab56", id="r-1"))
    assert bad.status_code == 400
    ok = await patch(sandbox, ev["eval_id"], code_body("123456", id="r-1"))
    assert ok.status_code == 200 and ok.json()["decision"] == "ACCEPT"
