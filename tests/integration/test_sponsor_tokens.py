"""Verification tokens: single use (also under concurrency), short-lived, tenant-bound."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import running_app
from tests.integration.sponsor_support import set_up_sponsor
from tests.support.services import require_postgres


def code_of(r) -> str:
    return str(r.json()["error_code"])


async def test_second_redemption_is_refused(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    token = await s.verified_token()
    assert (await s.redeem(token)).status_code == 200
    again = await s.redeem(token)
    assert again.status_code == 404 and code_of(again) == "071-203"
    other_op = await s.redeem(token, "settlement.approve")
    assert other_op.status_code == 404


async def test_expired_token_is_refused(harness, clock):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    token = await s.verified_token()
    fresh = await s.verified_token("bnf_phone_only")
    clock.advance(599)
    assert (await s.redeem(fresh)).status_code == 200
    clock.advance(1)
    r = await s.redeem(token)
    assert r.status_code == 410 and code_of(r) == "071-205"


async def test_made_up_token_is_refused(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    real = await s.verified_token()
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    r = await s.redeem(forged)
    assert r.status_code == 404 and code_of(r) == "071-203"
    assert (await s.redeem(real)).status_code == 200


async def race(s, token: str, n: int) -> list[int]:
    responses = await asyncio.gather(*(s.redeem(token) for _ in range(n)))
    return sorted(r.status_code for r in responses)


async def test_concurrent_redemptions_have_one_winner_on_sqlite(harness):
    s = await set_up_sponsor(harness, harness.sandbox_key)
    for beneficiary in ("bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O", "bnf_phone_only"):
        token = await s.verified_token(beneficiary)
        assert await race(s, token, 20) == [200] + [404] * 19


@pytest.mark.postgres
async def test_concurrent_redemptions_have_one_winner_on_postgresql():
    """Same race on PostgreSQL, in a database of its own (dropped afterwards)."""
    import psycopg

    base = require_postgres()
    name = f"otpgate_sponsor_{uuid.uuid4().hex[:12]}"
    admin = base.replace("postgresql://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = base.rsplit("/", 1)[0] + f"/{name}"
        settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
        async with running_app(settings, clock=FakeClock(start=1_800_000_000.0)) as h:
            s = await set_up_sponsor(h, h.sandbox_key)
            token = await s.verified_token()
            assert await race(s, token, 20) == [200] + [404] * 19
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
