"""The core's promises under real concurrency, on every backend (memory, SQLite, PostgreSQL,
PostgreSQL with Redis counters)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from otpgate.core.errors import DestinationLocked, RateLimited
from otpgate.core.model import Channel, Destination, DestinationKind, Environment
from otpgate.core.service import StartRequest, VerifyOutcome
from otpgate.core.session import SessionState

from .conftest import Backend

N = 30


def request() -> StartRequest:
    """A start request for a tenant and phone number no other test uses."""
    number = f"+1415555{uuid.uuid4().int % 10_000:04d}"
    return StartRequest(
        tenant_id=str(uuid.uuid4()),
        environment=Environment.PRODUCTION,
        channel=Channel.SMS,
        destination=Destination(DestinationKind.PHONE, number, "US", "mobile", "1"),
    )


def wrong(code: str) -> str:
    return str((int(code) + 1) % 10**6).zfill(6)


async def test_concurrent_wrong_guesses_evaluate_at_most_max_attempts(backend: Backend) -> None:
    req = request()
    sent = await backend.start(req)
    bad = wrong(backend.courier.last_code())
    results = await asyncio.gather(
        *(backend.verify(req.tenant_id, sent.session.id, bad) for _ in range(N))
    )
    outcomes = [r.outcome for r in results]
    assert outcomes.count(VerifyOutcome.INVALID) == 4
    assert VerifyOutcome.VERIFIED not in outcomes
    # Late requests see the closed session (MAX_ATTEMPTS or CLOSED); none is evaluated.
    assert set(outcomes) <= {
        VerifyOutcome.INVALID,
        VerifyOutcome.MAX_ATTEMPTS,
        VerifyOutcome.CLOSED,
    }
    final = await backend.get(req.tenant_id, sent.session.id)
    assert final.attempts == 5 and final.state is SessionState.FAILED
    with pytest.raises(DestinationLocked):
        await backend.start(req)


async def test_concurrent_correct_codes_succeed_exactly_once(backend: Backend) -> None:
    req = request()
    sent = await backend.start(req)
    code = backend.courier.last_code()
    results = await asyncio.gather(
        *(backend.verify(req.tenant_id, sent.session.id, code) for _ in range(N))
    )
    assert [r.outcome for r in results].count(VerifyOutcome.VERIFIED) == 1
    final = await backend.get(req.tenant_id, sent.session.id)
    assert final.state is SessionState.VERIFIED


async def test_concurrent_sends_past_the_limit_admit_exactly_the_limit(backend: Backend) -> None:
    req = request()
    results = await asyncio.gather(*(backend.start(req) for _ in range(N)), return_exceptions=True)
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, RateLimited)]
    assert len(admitted) == 5 and len(refused) == N - 5
    assert all(0 < r.retry_after <= 60 for r in refused)
    assert len(backend.courier.messages) == 5


async def test_a_resend_keeps_the_code_and_the_attempts(backend: Backend) -> None:
    req = request()
    sent = await backend.start(req)
    code = backend.courier.last_code()
    await backend.verify(req.tenant_id, sent.session.id, wrong(code))
    backend.clock.advance(30)
    again = await backend.resend(req.tenant_id, sent.session.id)
    assert backend.courier.last_code() == code
    assert again.session.attempts == 1 and again.session.sends == 2
    assert again.session.expires_at == sent.session.expires_at
    backend.clock.advance(600)
    late = await backend.verify(req.tenant_id, sent.session.id, code)
    assert late.outcome is VerifyOutcome.EXPIRED
