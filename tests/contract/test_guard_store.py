"""The abuse guard's stores (``uow.guard``, ``uow.guard_admin``), run against memory,
SQLite and PostgreSQL: lists per tenant, pauses per environment that lift by themselves
and start once under concurrency, and the operator's view of lockouts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from otpgate.core.guard_types import GuardScope, ListEntry, ListVerdict
from otpgate.core.model import Channel, Destination, DestinationKind, Environment
from otpgate.core.session import VerificationSession

from .conftest import STORES, open_factory

PROD, SANDBOX = str(Environment.PRODUCTION), str(Environment.SANDBOX)
US = ListEntry(GuardScope.COUNTRY, "US")
PREFIX = ListEntry(GuardScope.PREFIX, "+1201")
RANGE = ListEntry(GuardScope.PREFIX, "+120155501")
NUMBER = ListEntry(GuardScope.DESTINATION, "f" * 32)


@pytest.fixture(params=STORES)
async def uow(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    factory, db = await open_factory(request, request.param)
    try:
        yield factory
    finally:
        if db is not None:
            await db.close()


def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


async def run(factory: Any, work: Any) -> Any:
    """``work(uow)`` in a unit of work of its own, committed."""
    async with factory() as u:
        result = await work(u)
        await u.commit()
    return result


async def test_lists_answer_for_their_own_tenant_only(uow: Any) -> None:
    t1, t2, now = tenant(), tenant(), time.time()

    async def put(u: Any) -> None:
        await u.guard_admin.put(t1, US, ListVerdict.ALLOW, "US", now)
        await u.guard_admin.put(t1, PREFIX, ListVerdict.BLOCK, "+1201", now)
        await u.guard_admin.put(t2, NUMBER, ListVerdict.BLOCK, "+1 201 *** **00", now)

    await run(uow, put)

    async def screen(t: str, entries: list[ListEntry]) -> frozenset[ListVerdict]:
        found = await run(uow, lambda u: u.guard.screen(t, PROD, entries, [], now))
        return found.verdicts  # type: ignore[no-any-return]

    everything = [NUMBER, US, PREFIX, RANGE]
    assert await screen(t1, everything) == {ListVerdict.ALLOW, ListVerdict.BLOCK}
    assert await screen(t1, [NUMBER, PREFIX]) == {ListVerdict.BLOCK}
    assert await screen(t2, everything) == {ListVerdict.BLOCK}
    assert await screen(t2, [US, PREFIX]) == frozenset()
    assert await screen(tenant(), everything) == frozenset()
    # A value matches only in its own scope: a country named like a prefix is no prefix.
    assert await screen(t1, [ListEntry(GuardScope.PREFIX, "US")]) == frozenset()


async def test_an_entry_is_replaced_read_back_and_removed(uow: Any) -> None:
    t, now = tenant(), time.time()
    await run(uow, lambda u: u.guard_admin.put(t, PREFIX, ListVerdict.BLOCK, "+1201", now))
    await run(uow, lambda u: u.guard_admin.put(t, PREFIX, ListVerdict.ALLOW, "+1201", now + 1))
    [entry] = await run(uow, lambda u: u.guard_admin.entries(t))
    assert (entry.entry, entry.verdict, entry.label, entry.created_at) == (
        PREFIX,
        ListVerdict.ALLOW,
        "+1201",
        now + 1,
    )
    assert await run(uow, lambda u: u.guard_admin.remove(t, PREFIX)) is True
    assert await run(uow, lambda u: u.guard_admin.remove(t, PREFIX)) is False
    assert await run(uow, lambda u: u.guard_admin.entries(t)) == []


async def test_a_pause_holds_in_its_environment_until_it_lifts_by_itself(uow: Any) -> None:
    t, now = tenant(), time.time()
    assert await run(uow, lambda u: u.guard.pause(t, PROD, RANGE.scope, RANGE.value, now + 60, now))

    async def paused(environment: str, at: float) -> list[float]:
        found = await run(uow, lambda u: u.guard.screen(t, environment, [NUMBER], [RANGE, US], at))
        return [p.until for p in found.pauses]

    assert await paused(PROD, now + 59) == [now + 60]
    assert await paused(SANDBOX, now) == []
    assert await paused(PROD, now + 60) == []  # lifted by itself
    # In force: a second pause writes nothing; once lifted, a new one starts.
    assert not await run(
        uow, lambda u: u.guard.pause(t, PROD, RANGE.scope, RANGE.value, now + 999, now + 1)
    )
    assert await paused(PROD, now + 59) == [now + 60]
    assert await run(
        uow, lambda u: u.guard.pause(t, PROD, RANGE.scope, RANGE.value, now + 200, now + 61)
    )
    assert await paused(PROD, now + 199) == [now + 200]
    [pause] = await run(uow, lambda u: u.guard_admin.pauses(t, now + 100))
    assert (pause.environment, pause.scope, pause.value, pause.created_at) == (
        PROD,
        GuardScope.PREFIX,
        RANGE.value,
        now + 61,
    )


async def test_concurrent_pauses_of_one_range_start_exactly_one(uow: Any) -> None:
    t, now = tenant(), time.time()

    async def one() -> bool:
        async with uow() as u:
            started: bool = await u.guard.pause(t, PROD, RANGE.scope, RANGE.value, now + 60, now)
            await asyncio.sleep(0.01)  # hold the row while the others try
            await u.commit()
        return started

    assert sorted(await asyncio.gather(*(one() for _ in range(12)))) == [False] * 11 + [True]


async def test_an_operator_lifts_a_pause_in_force(uow: Any) -> None:
    t, now = tenant(), time.time()
    await run(uow, lambda u: u.guard.pause(t, SANDBOX, US.scope, US.value, now + 60, now))
    assert not await run(uow, lambda u: u.guard_admin.lift(t, PROD, US, now))
    assert await run(uow, lambda u: u.guard_admin.lift(t, SANDBOX, US, now))
    assert await run(uow, lambda u: u.guard_admin.pauses(t, now)) == []
    assert not await run(uow, lambda u: u.guard_admin.lift(t, SANDBOX, US, now))


def session_for(tenant_id: str, destination_key: str, now: float) -> VerificationSession:
    return VerificationSession(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        environment=Environment.PRODUCTION,
        channel=Channel.SMS,
        destination=Destination(DestinationKind.PHONE, "+14155550100", "US", "mobile", "1"),
        destination_key=destination_key,
        nonce=uuid.uuid4().hex,
        key_id="k1",
        code_length=6,
        max_attempts=5,
        created_at=now,
        expires_at=now + 600,
    )


async def test_locked_destinations_show_masked_and_are_forgotten(uow: Any) -> None:
    t, now = tenant(), time.time()
    known, gone = f"{t}:{'a' * 32}", f"{t}:{'b' * 32}"

    async def lock(u: Any) -> None:
        await u.sessions.create(session_for(t, known, now))
        await u.counters.lock(f"lock:{known}", now + 60)
        await u.counters.lock(f"lock:{gone}", now + 90)
        await u.counters.lock(f"lock:{tenant()}:{'c' * 32}", now + 60)  # another tenant's
        await u.counters.hit(f"fail:{known}", 10, 3600, now)

    await run(uow, lock)
    locked = await run(uow, lambda u: u.guard_admin.locked(t, now))
    assert [(d.key, d.label, d.until) for d in locked] == [
        (known, "+1 415 *** ** 00", now + 60),
        (gone, "(no session left; key …bbbbbbbb)", now + 90),
    ]
    assert [d.key for d in await run(uow, lambda u: u.guard_admin.locked(t, now + 60))] == [gone]

    await run(uow, lambda u: u.guard_admin.forget([f"lock:{known}"], [f"fail:{known}"]))
    assert [d.key for d in await run(uow, lambda u: u.guard_admin.locked(t, now))] == [gone]
    assert await run(uow, lambda u: u.counters.count(f"fail:{known}", 3600, now)) == 0
