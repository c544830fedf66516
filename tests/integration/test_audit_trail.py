"""Every state change leaves an audit event: evaluations, gateway transactions, sponsor
OTPs and tokens, sponsors and beneficiaries, API keys. No event holds personal data."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from otpgate.adapters.sql.tables import audit_events
from otpgate.core.model import Environment
from otpgate.testing.app import Harness
from tests.support import gateway as gw

from .sponsor_support import BENEFICIARY, EMAIL, set_up_sponsor
from .sponsor_support import PHONE as SPONSOR_PHONE

PHONE = "+14155550190"


async def events(h: Harness, subject_type: str) -> list[dict[str, Any]]:
    async with h.services.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(audit_events)
                .where(audit_events.c.subject_type == subject_type)
                .order_by(audit_events.c.id)
            )
        ).all()
    return [dict(r._mapping) for r in rows]


def start_body(id: str) -> dict[str, Any]:
    return {
        "id": id,
        "workflow": "otp_verification",
        "data": {"individual": {"phone_number": PHONE}},
    }


async def test_an_evaluation_records_creation_and_every_state_change(harness: Harness) -> None:
    async with harness.client(harness.production_key) as c:
        ev = (await c.post("/api/evaluation", json=start_body("audit-1"))).json()
        code = await harness.last_code(PHONE)
        wrong = str((int(code) + 1) % 1_000_000).zfill(6)
        await c.patch(
            f"/api/evaluation/{ev['eval_id']}",
            json={"id": "p1", "data": {"individual": {"otp": {"code": wrong}}}},
        )
        await c.patch(
            f"/api/evaluation/{ev['eval_id']}",
            json={"id": "p2", "data": {"individual": {"otp": {"code": code}}}},
        )
    trail = [e for e in await events(harness, "evaluation") if e["subject_id"] == ev["eval_id"]]
    assert [e["action"] for e in trail] == ["created", "state_changed", "state_changed"]
    assert trail[1]["detail"]["status"] == "ON_HOLD"
    assert trail[2]["detail"] | {"tags": None} == {
        "status": "CLOSED",
        "sub_status": "Approve",
        "decision": "ACCEPT",
        "eval_status": "evaluation_completed",
        "tags": None,
    }
    session_actions = [e["action"] for e in await events(harness, "session")]
    assert session_actions == ["session.started", "session.attempt_failed", "session.verified"]


async def test_a_refused_start_leaves_neither_an_evaluation_nor_an_event(harness: Harness) -> None:
    """The refused start's unit of work rolls back: its evaluation and its audit events
    never existed (before the unit of work they were written, then 'discarded')."""
    async with harness.client(harness.sandbox_key) as c:
        for i in range(6):
            r = await c.post("/api/evaluation", json=start_body(f"burst-{i}"))
    assert r.status_code == 429
    actions = [e["action"] for e in await events(harness, "evaluation")]
    assert actions.count("created") == 5 and "discarded" not in actions
    sessions = [e["action"] for e in await events(harness, "session")]
    assert sessions.count("session.started") == 5


async def test_gateway_transactions_record_creation_and_their_end(harness: Harness) -> None:
    async with harness.client() as c:
        token = await gw.start(c, harness.sandbox_key)
        r = await gw.cont(c, token, "123456")
    assert r.json()["result"]["action"] == "PASS"
    trail = await events(harness, "gateway_transaction")
    assert [e["action"] for e in trail] == ["created", "finished"]
    assert trail[1]["detail"] == {"outcome": "matched", "state": "passed"}


async def test_sponsor_otps_tokens_and_directory_changes_are_recorded(harness: Harness) -> None:
    setup = await set_up_sponsor(harness, harness.sandbox_key)
    token = await setup.verified_token()
    assert (await setup.redeem(token)).status_code == 200
    assert (await setup.redeem(token)).status_code != 200
    async with harness.client(harness.sandbox_key) as c:
        gone = await c.delete(f"/v1/admin/sponsors/sponsor-sandbox/beneficiaries/{BENEFICIARY}")
    assert gone.status_code in (200, 204)
    assert [e["action"] for e in await events(harness, "sponsor")] == ["saved"]
    beneficiary = [
        e["action"] for e in await events(harness, "beneficiary") if e["subject_id"] == BENEFICIARY
    ]
    assert beneficiary == ["saved", "removed"]
    assert [e["action"] for e in await events(harness, "sponsor_otp")] == ["created"]
    assert [e["action"] for e in await events(harness, "verification_token")] == [
        "issued",
        "redeemed",
    ]
    everything = json.dumps(
        [
            await events(harness, t)
            for t in ("sponsor", "beneficiary", "sponsor_otp", "verification_token", "session")
        ],
        default=str,
    )
    for secret in (SPONSOR_PHONE, "3001234542", EMAIL, token):
        assert secret not in everything


async def test_api_keys_record_creation_and_revocation(harness: Harness) -> None:
    issued = await harness.services.accounts.create_key("globex", Environment.SANDBOX)
    await harness.services.accounts.revoke_key(issued.key_id)
    trail = [e for e in await events(harness, "api_key") if e["subject_id"] == issued.key_id]
    assert [e["action"] for e in trail] == ["created", "revoked"]
    assert trail[0]["detail"] == {"environment": "sandbox"}
    assert issued.key not in json.dumps(await events(harness, "api_key"), default=str)


async def test_no_audit_event_holds_a_code_a_phone_number_or_an_email(harness: Harness) -> None:
    async with harness.client(harness.production_key) as c:
        ev = (await c.post("/api/evaluation", json=start_body("audit-pii"))).json()
        code = await harness.last_code(PHONE)
        await c.patch(
            f"/api/evaluation/{ev['eval_id']}",
            json={"id": "p1", "data": {"individual": {"otp": {"code": code}}}},
        )
    async with harness.services.engine.connect() as conn:
        rows = (await conn.execute(select(audit_events))).all()
    dump = json.dumps([dict(r._mapping) for r in rows], default=str)
    for secret in (code, PHONE, PHONE[2:], "4155550190"):
        assert secret not in dump
