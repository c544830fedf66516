"""The abuse guard as the core applies it to every send and guess, on all three APIs:
number types, one key per destination, the failure budget across sessions, and a lockout
that stops every open session of the destination."""

from __future__ import annotations

import asyncio

import pytest

from otpgate.core.errors import DestinationLocked, RefusedForRisk
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.guard_types import GUARD_REFUSED_PHONE
from otpgate.core.model import Channel, Destination, DestinationKind, Environment, Policy
from otpgate.core.service import VerifyOutcome

from .conftest import PHONE, Core
from .test_service import wrong


def phone(value: str, line_type: str) -> Destination:
    return Destination(DestinationKind.PHONE, value, "GB", line_type, "44")


def email(value: str) -> Destination:
    return Destination(DestinationKind.EMAIL, value)


async def settle() -> None:
    for _ in range(5):  # the refusal's audit unit of work runs once the request's ended
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    "line_type", ["premium_rate", "shared_cost", "toll_free", "pager", "voicemail", "uan"]
)
async def test_refused_number_types_send_nothing_and_are_audited(
    core: Core, line_type: str
) -> None:
    with pytest.raises(RefusedForRisk) as refused:
        await core.service.start(core.request(phone("+449098790000", line_type)))
    assert refused.value.message == "the request was refused for risk"  # says nothing more
    assert core.courier.messages == [] and core.store.sessions == {}
    await settle()
    [event] = core.store.events
    assert event.action == "send.refused" and event.detail["reasons"] == ["number_type"]


async def test_the_guard_sandbox_number_is_always_refused(core: Core) -> None:
    magic = phone(GUARD_REFUSED_PHONE, "unknown")
    with pytest.raises(RefusedForRisk):
        await core.service.start(core.request(magic, environment=Environment.SANDBOX))


async def test_mobile_numbers_and_a_switched_off_guard_pass() -> None:
    core = Core(guard=GuardSettings(enabled=False))
    assert (
        await core.service.start(core.request(phone("+449098790000", "premium_rate")))
    ).delivered
    assert (await Core().service.start(Core().request())).delivered


async def test_email_variants_share_one_lockout() -> None:
    core = Core()
    first = await core.service.start(core.request(email("victim@gmail.com"), Channel.EMAIL))
    bad = wrong(core.courier.last_code())
    for _ in range(5):
        await core.service.verify("t1", first.session.id, bad)
    for variant in (
        "VICTIM@GMAIL.COM",
        "Victim@gmail.com",
        "victim+x@gmail.com",
        "vic.tim@gmail.com",
        "ｖictim@gmail.com",
    ):
        with pytest.raises(DestinationLocked):
            await core.service.start(core.request(email(variant), Channel.EMAIL))


async def test_send_and_guess_cycling_stops_at_the_failure_budget() -> None:
    """New session, 4 wrong guesses, new session, ...: never the 5th that locks. The
    budget (10 wrong codes an hour across sessions) locks the destination anyway."""
    core = Core(Policy(send_limit_per_minute=100))
    evaluated = 0
    for _ in range(10):
        try:
            sent = await core.service.start(core.request())
        except DestinationLocked:
            break
        bad = wrong(core.courier.last_code())
        for _ in range(4):
            try:
                result = await core.service.verify("t1", sent.session.id, bad)
            except DestinationLocked:
                break
            assert result.outcome is VerifyOutcome.INVALID
            evaluated += 1
        core.clock.advance(30)
    assert evaluated == 10
    with pytest.raises(DestinationLocked):
        await core.service.start(core.request())
    assert [e.action for e in core.store.events].count("destination.locked") == 1


async def test_a_lockout_stops_the_open_sessions_of_the_destination() -> None:
    core = Core(Policy(ttl_seconds=3600))
    opened = [await core.service.start(core.request()) for _ in range(3)]
    codes = [m.code for m in core.courier.messages]
    for _ in range(5):  # the last session's 5 wrong codes lock the destination
        await core.service.verify("t1", opened[-1].session.id, wrong(codes[-1]))
    for sent, code in zip(opened[:-1], codes[:-1], strict=True):
        with pytest.raises(DestinationLocked):
            await core.service.verify("t1", sent.session.id, code)  # even the right code
        assert (await core.service.get("t1", sent.session.id)).attempts == 0
    core.clock.advance(601)  # the lockout ends: the sessions are theirs again
    assert (await core.service.verify("t1", opened[0].session.id, codes[0])).ok


async def test_the_budget_counts_across_tenants_separately() -> None:
    core = Core(Policy(send_limit_per_minute=100))
    for tenant in ("t1", "t2"):
        sent = await core.service.start(core.request(PHONE, tenant=tenant))
        bad = wrong(core.courier.last_code())
        for _ in range(4):
            await core.service.verify(tenant, sent.session.id, bad)
    assert (await core.service.start(core.request(PHONE, tenant="t1"))).delivered
