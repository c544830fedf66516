"""Concurrent requests in one process (interleaved at every database await)."""

from __future__ import annotations

import asyncio

import httpx

from otpgate.core.clock import FakeClock
from otpgate.testing.app import Harness

from .evalkit import PHONE, code_body, named, patch, start, state, wrong


async def test_concurrent_wrong_guesses_record_one_verify_enrichment_each(
    harness: Harness, live: httpx.AsyncClient
) -> None:
    ev = await start(live)
    code = await harness.last_code(PHONE)
    answers = await asyncio.gather(
        *(patch(live, ev["eval_id"], code_body(wrong(code))) for _ in range(10))
    )
    assert {a.status_code for a in answers} <= {400, 409}
    final = (await live.get(f"/api/evaluation/{ev['eval_id']}")).json()
    assert state(final) == ("CLOSED", "Max attempts reached", "REJECT")
    verifies = named(final, "Verify OTP")
    assert len(verifies) == 5
    assert [v["response"]["status"] for v in verifies].count("reject") == 1


async def test_concurrent_reads_after_the_ttl_record_one_expiry(
    live: httpx.AsyncClient, clock: FakeClock
) -> None:
    ev = await start(live)
    clock.advance(601)
    reads = await asyncio.gather(*(live.get(f"/api/evaluation/{ev['eval_id']}") for _ in range(8)))
    assert {r.status_code for r in reads} == {200}
    assert all(state(r.json()) == ("CLOSED", "Decline", "REJECT") for r in reads)
    final = (await live.get(f"/api/evaluation/{ev['eval_id']}")).json()
    assert len(named(final, "Verify OTP")) == 1
