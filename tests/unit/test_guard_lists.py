"""A tenant's allow and block lists, as the core applies them to every send: an allow entry
wins over every block, the number type and the range signals; never over the sandbox
magic number or a lockout; and one tenant's lists are its own."""

from __future__ import annotations

import itertools

import pytest

from otpgate.core.errors import DestinationLocked, PausedForRisk, RefusedForRisk
from otpgate.core.guard_admin import GuardAdmin, Target
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.guard_types import GUARD_REFUSED_PHONE, GuardScope, ListVerdict
from otpgate.core.model import Destination, DestinationKind, Environment, Policy

from .conftest import Core
from .test_guard_core import settle
from .test_service import wrong

NUMBER = Destination(DestinationKind.PHONE, "+447900123456", "GB", "mobile", "44")
NEIGHBOUR = Destination(DestinationKind.PHONE, "+447900123457", "GB", "mobile", "44")
PREMIUM = Destination(DestinationKind.PHONE, "+449098790000", "GB", "premium_rate", "44")
TARGETS = {
    "country": Target(GuardScope.COUNTRY, "GB"),
    "prefix": Target(GuardScope.PREFIX, "+4479001"),
    "destination": Target.of(NUMBER),
}


def admin(core: Core) -> GuardAdmin:
    return GuardAdmin(core.otp, core.uow)


async def send(core: Core, destination: Destination = NUMBER, tenant: str = "t1") -> bool:
    return (await core.service.start(core.request(destination, tenant=tenant))).delivered


@pytest.mark.parametrize(("blocked", "allowed"), list(itertools.product(TARGETS, TARGETS)))
async def test_an_allow_entry_wins_over_any_block(blocked: str, allowed: str) -> None:
    core = Core()
    await admin(core).put("t1", TARGETS[blocked], ListVerdict.BLOCK)
    if blocked != allowed:
        with pytest.raises(RefusedForRisk):
            await send(core)
    await admin(core).put("t1", TARGETS[allowed], ListVerdict.ALLOW)
    assert await send(core)


async def test_a_block_entry_refuses_for_good_and_is_audited() -> None:
    core = Core()
    await admin(core).put("t1", TARGETS["prefix"], ListVerdict.BLOCK)
    for destination in (NUMBER, NEIGHBOUR):
        with pytest.raises(RefusedForRisk) as refused:
            await send(core, destination)
        assert refused.value.message == "the request was refused for risk"
    assert core.courier.messages == [] and core.store.sessions == {}
    await settle()
    assert [e.detail["reasons"] for e in core.store.events] == [["block_list"]] * 2
    # A number outside the prefix is not covered.
    other = Destination(DestinationKind.PHONE, "+447911123456", "GB", "mobile", "44")
    assert await send(core, other)


async def test_an_allow_entry_skips_the_number_type() -> None:
    core = Core()
    with pytest.raises(RefusedForRisk):
        await send(core, PREMIUM)
    await admin(core).put("t1", Target.of(PREMIUM), ListVerdict.ALLOW)
    assert await send(core, PREMIUM)


async def test_nothing_allows_the_sandbox_magic_number() -> None:
    core = Core()
    magic = Destination(DestinationKind.PHONE, GUARD_REFUSED_PHONE, "US", "unknown", "1")
    await admin(core).put("t1", Target.of(magic), ListVerdict.ALLOW)
    await admin(core).put("t1", Target(GuardScope.COUNTRY, "US"), ListVerdict.ALLOW)
    with pytest.raises(RefusedForRisk):
        await core.service.start(core.request(magic, environment=Environment.SANDBOX))


async def test_an_allowed_range_is_neither_limited_nor_paused_nor_counted() -> None:
    """100 unverified sends to one allowed prefix: past its velocity limit and its
    conversion floor, none refused; and they count against neither for the others."""
    core = Core(Policy(send_limit_per_minute=1000))
    await admin(core).put("t1", Target(GuardScope.PREFIX, "+4479001"), ListVerdict.ALLOW)
    for i in range(100):
        number = Destination(DestinationKind.PHONE, f"+4479001{i:05d}", "GB", "mobile", "44")
        assert await send(core, number)
    unlisted = Destination(DestinationKind.PHONE, "+447902000001", "GB", "mobile", "44")
    assert await send(core, unlisted)  # GB is neither paused nor past its velocity
    status = await admin(core).status("t1", Environment.PRODUCTION, NUMBER)
    assert status.destination is not None
    assert [(r.scope, r.sends_this_hour) for r in status.destination.ranges] == [
        (GuardScope.PREFIX, 0),
        (GuardScope.COUNTRY, 1),
    ]


async def test_an_allow_entry_lifts_no_lockout_and_no_tenant_budget() -> None:
    core = Core(guard=GuardSettings(tenant_sends_per_hour=3))
    await admin(core).put("t1", Target.of(NUMBER), ListVerdict.ALLOW)
    sent = await core.service.start(core.request(NUMBER))
    for _ in range(5):
        await core.service.verify("t1", sent.session.id, wrong(core.courier.last_code()))
    with pytest.raises(DestinationLocked):
        await send(core)
    assert await send(core, NEIGHBOUR) and await send(core, NEIGHBOUR)
    with pytest.raises(PausedForRisk):  # the budget: 3 sends an hour
        await send(core, NEIGHBOUR)


async def test_lists_belong_to_their_tenant() -> None:
    core = Core()
    await admin(core).put("t2", TARGETS["country"], ListVerdict.BLOCK)
    assert await send(core, tenant="t1")
    with pytest.raises(RefusedForRisk):
        await send(core, tenant="t2")
    await admin(core).put("t1", TARGETS["destination"], ListVerdict.BLOCK)
    await admin(core).put("t2", TARGETS["destination"], ListVerdict.ALLOW)
    with pytest.raises(RefusedForRisk):
        await send(core, tenant="t1")
    assert await send(core, tenant="t2")


async def test_unblock_removes_the_entry_and_a_resend_meets_the_lists() -> None:
    core = Core()
    sent = await core.service.start(core.request(NUMBER))
    await admin(core).put("t1", TARGETS["destination"], ListVerdict.BLOCK)
    with pytest.raises(RefusedForRisk):
        await core.service.resend("t1", sent.session.id)
    undone = await admin(core).unblock("t1", TARGETS["destination"])
    assert (undone.entry, undone.pauses, undone.lockout) == (True, [], False)
    assert (await core.service.resend("t1", sent.session.id)).delivered
    assert (await admin(core).unblock("t1", TARGETS["destination"])).entry is False


async def test_status_lists_what_covers_a_destination() -> None:
    core = Core()
    for verdict, target in [
        (ListVerdict.ALLOW, TARGETS["destination"]),
        (ListVerdict.BLOCK, TARGETS["country"]),
        (ListVerdict.BLOCK, Target(GuardScope.PREFIX, "+1900")),
    ]:
        await admin(core).put("t1", target, verdict)
    status = await admin(core).status("t1", destination=NUMBER)
    assert [(e.verdict, e.entry.scope, e.label) for e in status.entries] == [
        (ListVerdict.BLOCK, GuardScope.COUNTRY, "GB"),
        (ListVerdict.ALLOW, GuardScope.DESTINATION, "+44 790 *** ** 56"),
        (ListVerdict.BLOCK, GuardScope.PREFIX, "+1900"),
    ]
    assert status.destination is not None
    assert [e.entry.scope for e in status.destination.entries] == [
        GuardScope.COUNTRY,
        GuardScope.DESTINATION,
    ]
    stored = {e.entry.value for e in status.entries}
    assert NUMBER.value not in stored  # the destination is kept as a fingerprint
