"""``PUT /api/evaluation/{eval_id}/state``: a reviewer closes what the workflow left open."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from otpgate.adapters.sql.sealed import PREFIX
from otpgate.adapters.sql.tables import evaluations
from otpgate.core.model import Environment
from otpgate.testing.app import Harness

from .evalkit import code_body, patch, resume_body, start, state
from .test_audit_trail import events


def put_body(**fields: Any) -> dict[str, Any]:
    return {"workflow": "otp_verification", "decision": "ACCEPT", "status": "CLOSED", **fields}


async def put(client: httpx.AsyncClient, eval_id: str, body: dict[str, Any]) -> httpx.Response:
    return await client.put(f"/api/evaluation/{eval_id}/state", json=body)


async def _in_review(client: httpx.AsyncClient) -> dict[str, Any]:
    ev = await start(client)
    r = await patch(client, ev["eval_id"], resume_body())
    assert state(r.json()) == ("CLOSED", "Under Review", "REVIEW")
    return r.json()


async def test_a_reviewer_closes_an_evaluation_in_review_and_it_is_audited(
    harness: Harness, sandbox: httpx.AsyncClient
) -> None:
    held = await _in_review(sandbox)
    r = await put(sandbox, held["eval_id"], put_body(notes="documents checked by hand"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert state(body) == ("CLOSED", "Approve", "ACCEPT")
    assert body["eval_status"] == "evaluation_completed" and body["review_queues"] == []
    assert body["id"].startswith("start-") and body["decision_at"] >= held["decision_at"]
    assert (await sandbox.get(f"/api/evaluation/{held['eval_id']}")).json() == body
    [event] = [
        e
        for e in await events(harness, "evaluation")
        if e["subject_id"] == held["eval_id"] and e["action"] == "state_set"
    ]
    assert event["detail"]["before"]["decision"] == "REVIEW"
    assert (event["detail"]["decision"], event["detail"]["status"]) == ("ACCEPT", "CLOSED")
    # The audit trail says the notes changed; their text is kept with the evaluation.
    assert event["detail"]["notes_changed"] is True
    assert "documents checked" not in str(event["detail"])
    assert body["notes"] == "documents checked by hand"


async def test_the_documents_spellings_open_and_on_hold(sandbox: httpx.AsyncClient) -> None:
    held = await _in_review(sandbox)
    r = await put(
        sandbox,
        held["eval_id"],
        put_body(decision="REVIEW", status="OPEN", sub_status="Further Analysis"),
    )
    assert r.status_code == 200
    assert state(r.json()) == ("OPEN", "Further Analysis", "REVIEW")
    assert r.json()["eval_status"] == "evaluation_in_progress"
    r = await put(sandbox, held["eval_id"], put_body(decision="REVIEW", status="ON HOLD"))
    assert state(r.json()) == ("ON_HOLD", "On Hold", "REVIEW")
    # A held (not code-waiting) evaluation takes no code.
    assert (await patch(sandbox, held["eval_id"], code_body("123456"))).status_code == 409


async def test_an_evaluation_waiting_for_a_code_answers_409(sandbox: httpx.AsyncClient) -> None:
    ev = await start(sandbox)
    r = await put(sandbox, ev["eval_id"], put_body())
    assert r.status_code == 409 and "waiting for a code" in r.json()["msg"]
    assert state(r.json()) == ("ON_HOLD", "Pending OTP Code", "REVIEW")
    # Nothing changed: the code still verifies.
    assert (await patch(sandbox, ev["eval_id"], code_body("123456"))).status_code == 200


async def test_bad_values_answer_400_naming_the_field(sandbox: httpx.AsyncClient) -> None:
    held = await _in_review(sandbox)
    cases = [
        (put_body(decision="CANCEL"), "decision"),
        (put_body(status="PAUSED"), "status"),
        (put_body(workflow="individual_onboarding"), "workflow"),
        (put_body(status="ON_HOLD", sub_status="Pending OTP Code"), "sub_status"),
        (put_body(status="ON_HOLD", sub_status="More information needed"), "sub_status"),
        (put_body(attachments=[{"file_name": "a.pdf", "file_data": "JVBE"}]), "attachments"),
        ({"workflow": "otp_verification", "status": "CLOSED"}, "decision"),
    ]
    for body, field in cases:
        r = await put(sandbox, held["eval_id"], body)
        assert (r.status_code, r.json()["field"]) == (400, field), (body, r.text)
    after = (await sandbox.get(f"/api/evaluation/{held['eval_id']}")).json()
    assert state(after) == state(held)


async def test_other_tenants_and_the_other_environment_get_404(
    harness: Harness, sandbox: httpx.AsyncClient, live: httpx.AsyncClient
) -> None:
    held = await _in_review(sandbox)
    other = await harness.create_key(Environment.SANDBOX, "globex")
    async with harness.client(other) as globex:
        assert (await put(globex, held["eval_id"], put_body())).status_code == 404
    assert (await put(live, held["eval_id"], put_body())).status_code == 404
    assert (await sandbox.put("/api/evaluation/nope/state", json=put_body())).status_code == 400
    r = await sandbox.put(
        f"/api/evaluation/{held['eval_id']}/state", json=put_body(), headers={"authorization": ""}
    )
    assert r.status_code == 401


NOTES = "Passport checked by video call; Marguerite Okonkwo, born 1984-03-29"


async def test_notes_are_stored_sealed_and_answered_until_replaced(app: Harness) -> None:
    async with app.client(app.sandbox_key) as c:
        held = await _in_review(c)
        assert held["notes"] == ""  # the published answer's field, empty until a reviewer writes
        r = await put(c, held["eval_id"], put_body(decision="REVIEW", status="OPEN", notes=NOTES))
        assert r.status_code == 200 and r.json()["notes"] == NOTES, r.text
        # A PUT without notes keeps them; every answer carries them.
        r = await put(c, held["eval_id"], put_body())
        assert r.json()["notes"] == NOTES
        got = await c.get(f"/api/evaluation/{held['eval_id']}")
        assert got.json()["notes"] == NOTES and state(got.json()) == ("CLOSED", "Approve", "ACCEPT")

        async with app.services.engine.connect() as conn:
            stored = (
                await conn.execute(
                    select(evaluations.c.notes).where(evaluations.c.id == held["eval_id"])
                )
            ).scalar_one()
        assert stored.startswith(PREFIX) and "Okonkwo" not in stored
        assert app.services.uow.sealer.open(stored) == NOTES

        # New notes replace them; the audit trail holds none of their text.
        r = await put(c, held["eval_id"], put_body(notes="second look: fine"))
        assert (await c.get(f"/api/evaluation/{held['eval_id']}")).json()["notes"] == (
            "second look: fine"
        )
    audited = [e for e in await events(app, "evaluation") if e["action"] == "state_set"]
    assert [e["detail"].get("notes_changed", False) for e in audited] == [True, False, True]
    assert "Okonkwo" not in str([e["detail"] for e in audited])
