"""The core use-cases with a fake clock and in-memory adapters."""

from __future__ import annotations

import pytest

from otpgate.core.errors import Conflict, DestinationLocked, InvalidInput, NotFound, RateLimited
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.model import Channel, Environment, Policy
from otpgate.core.service import VerifyOutcome
from otpgate.core.session import SessionState

from .conftest import EMAIL, PHONE, Core


def wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


async def test_start_delivers_a_six_digit_code_and_stores_no_code(core: Core) -> None:
    sent = await core.service.start(core.request())
    code = core.courier.last_code()
    assert sent.delivered and len(code) == 6 and code.isdigit()
    stored = core.store.sessions[sent.session.id]
    assert code not in repr(stored)
    assert stored.state is SessionState.PENDING and stored.sends == 1


async def test_correct_code_verifies_once(core: Core) -> None:
    sent = await core.service.start(core.request())
    code = core.courier.last_code()
    first = await core.service.verify("t1", sent.session.id, code)
    again = await core.service.verify("t1", sent.session.id, code)
    assert first.outcome is VerifyOutcome.VERIFIED
    assert again.outcome is VerifyOutcome.CLOSED


async def test_wrong_codes_count_down_then_close_and_lock_the_destination(core: Core) -> None:
    sent = await core.service.start(core.request())
    bad = wrong(core.courier.last_code())
    outcomes = [(await core.service.verify("t1", sent.session.id, bad)) for _ in range(5)]
    assert [o.outcome for o in outcomes] == [VerifyOutcome.INVALID] * 4 + [
        VerifyOutcome.MAX_ATTEMPTS
    ]
    assert [o.session.attempts_remaining for o in outcomes] == [4, 3, 2, 1, 0]
    assert outcomes[-1].session.state is SessionState.FAILED
    with pytest.raises(DestinationLocked) as locked:
        await core.service.start(core.request())
    assert 590 <= locked.value.retry_after <= 600
    core.clock.advance(601)
    assert (await core.service.start(core.request())).delivered


async def test_the_correct_code_after_the_limit_is_refused(core: Core) -> None:
    sent = await core.service.start(core.request())
    code = core.courier.last_code()
    for _ in range(5):
        await core.service.verify("t1", sent.session.id, wrong(code))
    late = await core.service.verify("t1", sent.session.id, code)
    assert late.outcome is VerifyOutcome.CLOSED
    assert late.session.state is SessionState.FAILED


async def test_code_expires_after_ttl(core: Core) -> None:
    sent = await core.service.start(core.request())
    code = core.courier.last_code()
    core.clock.advance(600)
    result = await core.service.verify("t1", sent.session.id, code)
    assert result.outcome is VerifyOutcome.EXPIRED
    assert result.session.state is SessionState.EXPIRED


async def test_resend_keeps_code_ttl_and_attempts(core: Core) -> None:
    sent = await core.service.start(core.request())
    code = core.courier.last_code()
    await core.service.verify("t1", sent.session.id, wrong(code))
    core.clock.advance(480)
    resent = await core.service.resend("t1", sent.session.id)
    assert core.courier.last_code() == code
    assert resent.session.expires_at == sent.session.expires_at
    assert resent.session.attempts == 1 and resent.session.sends == 2
    assert core.courier.messages[-1].minutes_left == 2
    core.clock.advance(120)
    assert (await core.service.verify("t1", sent.session.id, code)).outcome is (
        VerifyOutcome.EXPIRED
    )


async def test_resend_after_close_is_a_conflict(core: Core) -> None:
    sent = await core.service.start(core.request())
    await core.service.verify("t1", sent.session.id, core.courier.last_code())
    with pytest.raises(Conflict):
        await core.service.resend("t1", sent.session.id)


async def test_malformed_codes_burn_no_attempt(core: Core) -> None:
    sent = await core.service.start(core.request())
    for bad in ("12345", "1234567", "12a456", "١٢٣٤٥٦", ""):
        with pytest.raises(InvalidInput):
            await core.service.verify("t1", sent.session.id, bad)
    assert core.store.sessions[sent.session.id].attempts == 0


async def test_send_rate_limit_per_destination(core: Core) -> None:
    for _ in range(5):
        await core.service.start(core.request())
    with pytest.raises(RateLimited) as refused:
        await core.service.start(core.request())
    assert 1 <= refused.value.retry_after <= 60
    assert (await core.service.start(core.request(EMAIL, Channel.EMAIL))).delivered


async def test_verify_rate_limit_per_session() -> None:
    # A failure budget above the guesses made: the verify rate is what this is about.
    core = Core(
        Policy(max_attempts=50, verify_limit_per_minute=10), GuardSettings(failures_per_hour=100)
    )
    sent = await core.service.start(core.request())
    bad = wrong(core.courier.last_code())
    for _ in range(10):
        await core.service.verify("t1", sent.session.id, bad)
    with pytest.raises(RateLimited):
        await core.service.verify("t1", sent.session.id, bad)
    core.clock.advance(60)
    assert (await core.service.verify("t1", sent.session.id, bad)).outcome is (
        VerifyOutcome.INVALID
    )


async def test_cancel_kills_the_code(core: Core) -> None:
    sent = await core.service.start(core.request())
    code = core.courier.last_code()
    cancelled = await core.service.cancel("t1", sent.session.id)
    assert cancelled.state is SessionState.CANCELLED
    assert (await core.service.verify("t1", sent.session.id, code)).outcome is (
        VerifyOutcome.CLOSED
    )


async def test_sessions_are_invisible_to_other_tenants(core: Core) -> None:
    sent = await core.service.start(core.request())
    with pytest.raises(NotFound):
        await core.service.verify("t2", sent.session.id, core.courier.last_code())


async def test_failed_delivery_closes_the_session() -> None:
    core = Core()
    core.courier.fail = True
    sent = await core.service.start(core.request())
    assert not sent.delivered
    assert sent.session.state is SessionState.UNDELIVERED


async def test_sandbox_rules(core: Core) -> None:
    magic = PHONE.__class__(PHONE.kind, "+11234567890", "US", "unknown", "1")
    failed = await core.service.start(core.request(magic, environment=Environment.SANDBOX))
    assert not failed.delivered and core.courier.messages == []
    sent = await core.service.start(core.request(environment=Environment.SANDBOX))
    assert (await core.service.verify("t1", sent.session.id, "000000")).outcome is (
        VerifyOutcome.INVALID
    )
    assert (await core.service.verify("t1", sent.session.id, "314159")).ok


async def test_channel_must_fit_destination(core: Core) -> None:
    with pytest.raises(InvalidInput):
        await core.service.start(core.request(EMAIL, Channel.SMS))


# Concurrency is tested where requests really interleave: the contract suite runs the
# same races in concurrent transactions on SQLite and PostgreSQL (tests/contract). Here,
# units of work on the in-memory database are serial by construction.
