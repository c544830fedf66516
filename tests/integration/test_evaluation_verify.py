"""PATCH with a code: correct, wrong, too many, too late; sandbox and production rules."""

from __future__ import annotations

import httpx

from otpgate.core.clock import FakeClock
from otpgate.testing.app import Harness

from .evalkit import PHONE, code_body, named, patch, start, start_body, state, wrong


async def test_correct_code_in_production_approves(
    harness: Harness, live: httpx.AsyncClient, clock: FakeClock
) -> None:
    ev = await start(live)
    code = await harness.last_code(PHONE)
    clock.advance(5)
    r = await patch(live, ev["eval_id"], code_body(code, id="verify-1"))
    assert r.status_code == 200
    body = r.json()
    assert state(body) == ("CLOSED", "Approve", "ACCEPT")
    assert body["id"] == "verify-1" and body["eval_status"] == "evaluation_completed"
    assert body["environment_name"] == "Production"
    assert body["tags"] == ["OTP_VERIFIED"]  # the guide's example answer
    assert body["decision_at"] > ev["decision_at"]  # the approval is the current decision
    [verify] = named(body, "Verify OTP")
    assert verify["enrichment_name"] == "Verify OTP SMS"
    assert verify["response"]["status"] == "approved"
    assert verify["response"]["attemptCount"] == 1
    assert (
        verify["response"]["verificationId"]
        == named(body, "Deliver OTP")[0]["response"]["verificationId"]
        == verify["response"]["sessionId"]
    )
    assert code not in str(verify)


async def test_sandbox_accepts_any_code_but_all_zeros(sandbox: httpx.AsyncClient) -> None:
    ev = await start(sandbox)
    r = await patch(sandbox, ev["eval_id"], code_body("000000"))
    assert r.status_code == 400 and r.json()["msg"] == "Invalid code"
    r = await patch(sandbox, ev["eval_id"], code_body("314159"))
    assert r.status_code == 200
    assert state(r.json()) == ("CLOSED", "Approve", "ACCEPT")


async def test_all_zeros_is_not_special_in_production(
    harness: Harness, live: httpx.AsyncClient
) -> None:
    ev = await start(live)
    code = await harness.last_code(PHONE)
    guess = "000000" if code != "000000" else "000001"
    r = await patch(live, ev["eval_id"], code_body(guess))
    assert r.status_code == 400 and r.json()["attempts_remaining"] == 4
    # An arbitrary well-formed code (accepted in the sandbox) is refused too.
    r = await patch(live, ev["eval_id"], code_body(wrong(code)))
    assert r.status_code == 400 and r.json()["msg"] == "Invalid code"
    r = await patch(live, ev["eval_id"], code_body(code))
    assert r.status_code == 200 and r.json()["decision"] == "ACCEPT"


async def test_wrong_code_answers_400_with_the_remaining_attempts(
    harness: Harness, live: httpx.AsyncClient
) -> None:
    ev = await start(live)
    code = await harness.last_code(PHONE)
    r = await patch(live, ev["eval_id"], code_body(wrong(code)))
    assert r.status_code == 400
    body = r.json()
    assert body["msg"] == "Invalid code"
    assert body["attempts_remaining"] == 4
    assert state(body) == ("ON_HOLD", "Pending OTP Code", "REVIEW")
    [verify] = named(body, "Verify OTP")
    assert verify["response"]["status"] == "pending"
    assert verify["response"]["attemptCount"] == 1


async def test_fifth_wrong_code_closes_and_locks_the_destination_for_ten_minutes(
    harness: Harness, live: httpx.AsyncClient, clock: FakeClock
) -> None:
    ev = await start(live)
    code = await harness.last_code(PHONE)
    answers = [await patch(live, ev["eval_id"], code_body(wrong(code))) for _ in range(5)]
    assert [a.status_code for a in answers] == [400] * 5
    assert [a.json()["attempts_remaining"] for a in answers] == [4, 3, 2, 1, 0]
    last = answers[-1].json()
    assert state(last) == ("CLOSED", "Max attempts reached", "REJECT")
    assert last["eval_status"] == "evaluation_completed"
    verifies = named(last, "Verify OTP")
    assert len(verifies) == 5
    assert verifies[-1]["response"]["status"] == "reject"
    # The correct code is now refused: the evaluation is closed.
    late = await patch(live, ev["eval_id"], code_body(code))
    assert late.status_code == 409
    assert state(late.json()) == ("CLOSED", "Max attempts reached", "REJECT")

    clock.advance(120)  # past the send-rate window, still inside the lockout
    locked = await live.post("/api/evaluation", json=start_body())
    assert locked.status_code == 429
    retry = int(locked.headers["Retry-After"])
    assert 470 <= retry <= 480
    assert locked.json()["retry_after"] == retry and locked.json()["msg"]
    other = await live.post("/api/evaluation", json=start_body(phone="+14155550111"))
    assert other.status_code == 200  # only that destination is locked

    clock.advance(600 - 120)
    again = await live.post("/api/evaluation", json=start_body())
    assert again.status_code == 200, again.text
    assert state(again.json()) == ("ON_HOLD", "Pending OTP Code", "REVIEW")


async def test_code_after_the_ttl_expires_the_evaluation(
    harness: Harness, live: httpx.AsyncClient, clock: FakeClock
) -> None:
    ev = await start(live)
    code = await harness.last_code(PHONE)
    clock.advance(601)
    r = await patch(live, ev["eval_id"], code_body(code))
    assert r.status_code == 400
    body = r.json()
    assert body["msg"] == "Code expired"
    assert state(body) == ("CLOSED", "Decline", "REJECT")
    assert named(body, "Verify OTP")[-1]["response"]["status"] == "reject"
    again = await patch(live, ev["eval_id"], code_body(code))
    assert again.status_code == 409


async def test_code_just_before_the_ttl_still_verifies(
    harness: Harness, live: httpx.AsyncClient, clock: FakeClock
) -> None:
    ev = await start(live)
    code = await harness.last_code(PHONE)
    clock.advance(599)
    r = await patch(live, ev["eval_id"], code_body(code))
    assert r.status_code == 200 and r.json()["decision"] == "ACCEPT"


async def test_get_after_the_ttl_shows_the_expired_evaluation(
    sandbox: httpx.AsyncClient, clock: FakeClock
) -> None:
    ev = await start(sandbox)
    clock.advance(600)
    body = (await sandbox.get(f"/api/evaluation/{ev['eval_id']}")).json()
    assert state(body) == ("CLOSED", "Decline", "REJECT")
    assert named(body, "Verify OTP")[-1]["response"]["status"] == "reject"


async def test_sandbox_expiry_applies_too(sandbox: httpx.AsyncClient, clock: FakeClock) -> None:
    ev = await start(sandbox)
    clock.advance(601)
    r = await patch(sandbox, ev["eval_id"], code_body("123456"))
    assert r.status_code == 400 and r.json()["msg"] == "Code expired"
