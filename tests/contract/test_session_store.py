"""The SessionStore contract, run against memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid

from otpgate.core.model import Channel, Destination, DestinationKind, Environment
from otpgate.core.session import SessionState, VerificationSession

from .conftest import AutoStore as SessionStore

N = 30


def new_session(now: float, max_attempts: int = 5, ttl: float = 600) -> VerificationSession:
    sid = str(uuid.uuid4())
    return VerificationSession(
        id=sid,
        tenant_id=f"tenant-{sid[:8]}",
        environment=Environment.PRODUCTION,
        channel=Channel.SMS,
        destination=Destination(DestinationKind.PHONE, "+14155550100", "US", "mobile", "1"),
        destination_key=f"t:{sid}",
        nonce=uuid.uuid4().hex,
        key_id="k1",
        code_length=6,
        max_attempts=max_attempts,
        created_at=now,
        expires_at=now + ttl,
        locale="en-US",
    )


async def test_a_session_reads_back_exactly_as_stored(store: SessionStore) -> None:
    now = time.time() + 0.123456
    session = new_session(now)
    await store.create_session(session)
    assert await store.get_session(session.tenant_id, session.id) == session


async def test_another_tenant_does_not_see_the_session(store: SessionStore) -> None:
    session = new_session(time.time())
    await store.create_session(session)
    assert await store.get_session("someone-else", session.id) is None
    assert await store.get_session(session.tenant_id, str(uuid.uuid4())) is None


async def test_claim_attempt_counts_to_the_limit_then_refuses(store: SessionStore) -> None:
    now = time.time()
    session = new_session(now, max_attempts=3)
    await store.create_session(session)
    claims = [await store.claim_attempt(session.id, now) for _ in range(5)]
    assert claims == [1, 2, 3, None, None]
    stored = await store.get_session(session.tenant_id, session.id)
    assert stored is not None and stored.attempts == 3


async def test_claim_attempt_refuses_expired_and_closed_sessions(store: SessionStore) -> None:
    now = time.time()
    expired = new_session(now, ttl=10)
    closed = new_session(now)
    for s in (expired, closed):
        await store.create_session(s)
    assert await store.claim_attempt(expired.id, now + 10) is None
    assert await store.transition(closed.id, SessionState.PENDING, SessionState.CANCELLED, now)
    assert await store.claim_attempt(closed.id, now) is None
    assert await store.claim_attempt(str(uuid.uuid4()), now) is None


async def test_transition_applies_only_from_its_source_state(store: SessionStore) -> None:
    now = time.time()
    session = new_session(now)
    await store.create_session(session)
    assert not await store.transition(session.id, SessionState.FAILED, SessionState.VERIFIED, now)
    assert await store.transition(session.id, SessionState.PENDING, SessionState.VERIFIED, now + 1)
    assert not await store.transition(session.id, SessionState.PENDING, SessionState.FAILED, now)
    stored = await store.get_session(session.tenant_id, session.id)
    assert stored is not None
    assert stored.state is SessionState.VERIFIED and stored.closed_at == now + 1


async def test_count_send_adds_one(store: SessionStore) -> None:
    session = new_session(time.time())
    await store.create_session(session)
    await store.count_send(session.id)
    await store.count_send(session.id)
    stored = await store.get_session(session.tenant_id, session.id)
    assert stored is not None and stored.sends == 2


async def test_concurrent_claims_never_pass_max_attempts(store: SessionStore) -> None:
    now = time.time()
    session = new_session(now, max_attempts=5)
    await store.create_session(session)
    claims = await asyncio.gather(*(store.claim_attempt(session.id, now) for _ in range(N)))
    assert sorted(c for c in claims if c is not None) == [1, 2, 3, 4, 5]
    stored = await store.get_session(session.tenant_id, session.id)
    assert stored is not None and stored.attempts == 5


async def test_concurrent_transitions_let_exactly_one_through(store: SessionStore) -> None:
    now = time.time()
    session = new_session(now)
    await store.create_session(session)
    won = await asyncio.gather(
        *(
            store.transition(session.id, SessionState.PENDING, SessionState.VERIFIED, now)
            for _ in range(N)
        )
    )
    assert won.count(True) == 1


async def test_claim_attempt_refuses_while_the_destination_is_locked(store: SessionStore) -> None:
    now = time.time()
    session = new_session(now)
    await store.create_session(session)
    async with store.uow() as uow:
        await uow.counters.lock(f"lock:{session.destination_key}", now + 60)
        await uow.commit()
    assert await store.claim_attempt(session.id, now) is None
    assert await store.claim_attempt(session.id, now + 61) == 1
