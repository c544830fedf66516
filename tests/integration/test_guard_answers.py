"""The abuse guard's refusals as each API answers them (README, "Abuse guard"): nothing is
sent, the answer says the request was refused for risk and never which signal fired,
and each refusal is audited and counted."""

from __future__ import annotations

import asyncio

from otpgate.testing.app import Harness
from tests.integration.sponsor_support import SPONSOR, set_up_sponsor
from tests.support import gateway as gw

PREMIUM = "+1 900 555 0199"
REFUSED = "the request was refused for risk"


async def _refusals(harness: Harness) -> list[str]:
    for _ in range(20):
        await asyncio.sleep(0.01)  # audited in a unit of work of its own, just after
        async with harness.services.uow() as uow:
            rows = await uow.transaction.fetch(
                "SELECT detail FROM audit_events WHERE action = 'send.refused'", {}
            )
        if rows:
            return [r[0] for r in rows]
    return []


async def test_the_evaluation_api_refuses_a_premium_rate_number(harness: Harness) -> None:
    async with harness.client(harness.sandbox_key) as c:
        body = {
            "id": "p1",
            "workflow": "otp_verification",
            "data": {"individual": {"phone_number": PREMIUM}},
        }
        r = await c.post("/api/evaluation", json=body)
        assert (r.status_code, r.json()) == (403, {"msg": REFUSED})
        again = await c.post("/api/evaluation", json=body)
        assert again.status_code == 403  # nothing was created under the id
    assert await harness.messages("+19005550199") == []
    details = await _refusals(harness)
    assert len(details) == 2 and all("number_type" in d for d in details)
    metrics = harness.services.metrics.guard_blocks.labels("number_type", "US")._value.get()
    assert metrics == 2


async def test_the_gateway_refuses_a_premium_rate_number(harness: Harness) -> None:
    async with harness.client() as c:
        body = gw.initial(harness.sandbox_key, target__phone="9005550199")
        r = await gw.send(c, body)
    assert r.status_code == 403
    result = r.json()["result"]
    assert (result["action"], result["detail"], result["issues"]) == (
        "FAIL",
        "NOT ALLOWED",
        [REFUSED],
    )
    assert "continuations" not in r.json()
    assert await harness.messages("+19005550199") == []


async def test_the_sponsor_api_refuses_a_premium_rate_beneficiary(harness: Harness) -> None:
    setup = await set_up_sponsor(harness, harness.sandbox_key)
    async with harness.client(harness.sandbox_key) as c:
        r = await c.put(
            f"/v1/admin/sponsors/{SPONSOR}/beneficiaries/bnf_premium",
            json={"phone_number": PREMIUM},
        )
        assert r.status_code == 200
    refused = await setup.send("bnf_premium")
    assert (refused.status_code, refused.json()) == (
        403,
        {"error_code": "071-202", "message": REFUSED},
    )
    assert await harness.messages("+19005550199") == []
