"""The unit of work's own promises, on memory, SQLite and PostgreSQL: all or nothing, and
request ids claimed exactly once."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from otpgate.core.model import AuditEvent
from otpgate.core.uow import StoredAnswer

from .test_session_store import new_session

N = 20


def event(subject: str) -> AuditEvent:
    return AuditEvent("t", "session", subject, "session.started", time.time(), {"n": 1})


async def test_leaving_without_commit_keeps_nothing(uow: Any) -> None:
    session = new_session(time.time())
    with pytest.raises(RuntimeError):
        async with uow() as u:
            await u.sessions.create(session)
            await u.audit.record(event(session.id))
            raise RuntimeError("a later step failed")
    async with uow() as u:
        assert await u.sessions.get(session.tenant_id, session.id) is None


async def test_a_committed_unit_keeps_everything(uow: Any) -> None:
    session = new_session(time.time())
    async with uow() as u:
        await u.sessions.create(session)
        await u.commit()
    async with uow() as u:
        assert await u.sessions.get(session.tenant_id, session.id) == session


async def _claim(uow: Any, key: tuple[str, str, str], answer: int) -> tuple[bool, Any]:
    now = time.time()
    async with uow() as u:
        claim = await u.idempotency.claim(*key, now, now - 60)
        if not claim.won:
            return False, claim.answer
        await asyncio.sleep(0)  # let the others queue on the row
        await u.idempotency.save(*key, StoredAnswer(200, {"n": answer}))
        await u.commit()
        return True, None


async def test_concurrent_claims_of_one_request_id_let_one_through(uow: Any) -> None:
    key = (str(uuid.uuid4()), "scope", "req-1")
    results = await asyncio.gather(*(_claim(uow, key, i) for i in range(N)))
    winners = [i for i, (won, _) in enumerate(results) if won]
    assert len(winners) == 1
    # Everyone who came after the winner committed reads the winner's answer.
    answers = [a for won, a in results if not won]
    assert all(a == StoredAnswer(200, {"n": winners[0]}) for a in answers)


async def test_a_claim_that_rolled_back_leaves_the_id_free(uow: Any) -> None:
    key = (str(uuid.uuid4()), "scope", "req-2")
    now = time.time()
    async with uow() as u:
        assert (await u.idempotency.claim(*key, now, now - 60)).won
    async with uow() as u:
        assert (await u.idempotency.claim(*key, now, now - 60)).won


async def test_an_unanswered_claim_is_taken_over_only_once_stale(uow: Any) -> None:
    key = (str(uuid.uuid4()), "scope", "req-3")
    now = time.time()
    async with uow() as u:  # a request that committed its claim, then died
        assert (await u.idempotency.claim(*key, now, now - 60)).won
        await u.commit()
    async with uow() as u:
        fresh = await u.idempotency.claim(*key, now + 1, now + 1 - 60)
        assert not fresh.won and fresh.answer is None
    async with uow() as u:
        assert (await u.idempotency.claim(*key, now + 61, now + 1)).won


async def test_many_counters_count_at_once_and_read_back(uow: Any) -> None:
    now = (int(time.time() // 3600) + 1) * 3600.0 + 1  # the start of an hour
    keys = [f"g:{uuid.uuid4()}" for _ in range(3)]
    tallies = [(keys[0], 3600), (keys[1], 3600), (keys[2], 60)]
    for expected in (1, 2, 3):
        async with uow() as u:
            assert await u.counters.hit_many(tallies, now) == [expected] * 3
            await u.commit()
    window = int(now // 3600)
    async with uow() as u:
        seen = await u.counters.counts(keys[:2], 3600, [window, window - 1])
    assert seen == {(keys[0], window): 3, (keys[1], window): 3}
    # Concurrent units of work count exactly.
    results = await asyncio.gather(*(_hit(uow, tallies[:1], now) for _ in range(N)))
    assert sorted(r[0] for r in results) == list(range(4, 4 + N))


async def _hit(uow: Any, tallies: list[tuple[str, int]], now: float) -> list[int]:
    async with uow() as u:
        counts: list[int] = await u.counters.hit_many(tallies, now)
        await u.commit()
    return counts
