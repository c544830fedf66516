"""One pooled connection per request (storage/lease.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.core.memory import RecordingCourier
from otpgate.core.model import (
    Channel,
    DeliveryResult,
    Destination,
    DestinationKind,
    Environment,
    OutgoingMessage,
)
from otpgate.storage.db import create_engine
from otpgate.storage.lease import (
    ReleasingCourier,
    begin,
    connect,
    read,
    released,
    request_scope,
    run,
    scalar_one,
    write,
)
from otpgate.testing import Harness

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    eng = create_engine(url, pool_size=5, max_overflow=5)
    async with eng.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS lease_probe (v INTEGER)"))
        await conn.execute(text("DELETE FROM lease_probe"))
    try:
        yield eng
    finally:
        await eng.dispose()


def _checkouts(engine: AsyncEngine) -> list[int]:
    seen: list[int] = []
    event.listen(engine.sync_engine.pool, "checkout", lambda *_a: seen.append(1))
    return seen


async def _count(engine: AsyncEngine) -> int:
    """Read on a connection of its own: sees only committed rows."""
    async with engine.connect() as other:
        return int((await other.execute(text("SELECT count(*) FROM lease_probe"))).scalar_one())


async def test_a_scope_checks_out_once_and_commits_each_block(engine: AsyncEngine) -> None:
    checkouts = _checkouts(engine)
    async with request_scope():
        for v in range(3):
            async with begin(engine) as conn:
                await conn.execute(text("INSERT INTO lease_probe VALUES (:v)"), {"v": v})
            # Each block is its own transaction, committed when it ends.
            assert await _count(engine) == v + 1
        async with connect(engine) as conn:
            assert (await conn.execute(text("SELECT count(*) FROM lease_probe"))).scalar() == 3
        held = engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
    # The leased connection plus _count's own, three times; the lease went back at the end.
    assert len(checkouts) == 1 + 3
    assert held == 1
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_failed_block_rolls_back_and_the_lease_stays_usable(engine: AsyncEngine) -> None:
    async with request_scope():
        with pytest.raises(RuntimeError):
            async with begin(engine) as conn:
                await conn.execute(text("INSERT INTO lease_probe VALUES (1)"))
                raise RuntimeError("boom")
        assert await _count(engine) == 0
        async with begin(engine) as conn:
            await conn.execute(text("INSERT INTO lease_probe VALUES (2)"))
    assert await _count(engine) == 1


async def test_busy_lease_nested_call_and_other_tasks_use_the_pool(engine: AsyncEngine) -> None:
    checkouts = _checkouts(engine)
    seen: list[object] = []

    async def other_task() -> None:
        async with connect(engine) as conn:
            seen.append(conn)

    async with request_scope():
        async with begin(engine) as outer:
            async with begin(engine) as inner:  # the leased one is busy: a pool connection
                await inner.execute(text("INSERT INTO lease_probe VALUES (1)"))
            assert inner is not outer
            assert await _count(engine) == 1  # the inner block committed on its own
        # A task started inside the scope inherits the context but not the connection.
        await asyncio.create_task(other_task())
        assert seen[0] is not outer
    assert len(checkouts) == 4  # lease, inner, _count, the task's
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_released_gives_the_connection_back_while_waiting(engine: AsyncEngine) -> None:
    async with request_scope():
        async with begin(engine) as conn:
            await conn.execute(text("INSERT INTO lease_probe VALUES (1)"))
        assert engine.sync_engine.pool.checkedout() == 1  # type: ignore[attr-defined]
        async with released():
            assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        async with connect(engine) as conn:
            assert (await conn.execute(text("SELECT count(*) FROM lease_probe"))).scalar() == 1
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_an_evaluation_request_uses_one_connection(harness: Harness) -> None:
    checkouts = _checkouts(harness.services.engine)
    async with harness.client(harness.production_key) as c:
        started = await c.post(
            "/api/evaluation",
            json={"id": "l1", "workflow": "otp_verification",
                  "data": {"individual": {"phone_number": "+14155550143"}}},
        )  # fmt: skip
        assert started.status_code == 200
        eval_id = started.json()["eval_id"]
        wrong = f"{(int(await harness.last_code('+14155550143')) + 1) % 10**6:06d}"
        checkouts.clear()
        bad = await c.patch(
            f"/api/evaluation/{eval_id}",
            json={"id": "p1", "data": {"individual": {"otp": {"code": wrong}}}},
        )
        assert bad.status_code == 400
        assert bad.json()["attempts_remaining"] == 4
    # Before the lease: one checkout per statement block (9 for a wrong-code PATCH).
    assert len(checkouts) == 1


async def test_deliveries_hold_no_pooled_connection(engine: AsyncEngine) -> None:
    during: list[int] = []

    class Probe(RecordingCourier):
        async def deliver(self, message: OutgoingMessage) -> DeliveryResult:
            during.append(engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]
            return await super().deliver(message)

    courier = ReleasingCourier(Probe())
    message = OutgoingMessage(
        tenant_id="t", session_id="s", environment=Environment.PRODUCTION, channel=Channel.SMS,
        destination=Destination(DestinationKind.PHONE, "+14155550143"), code="123456",
        expires_at=1.0, now=0.0,
    )  # fmt: skip
    async with request_scope():
        async with connect(engine) as conn:
            await conn.execute(text("SELECT 1"))
        assert (await courier.deliver(message)).ok
    assert during == [0]


async def test_write_and_read_run_each_block_in_its_own_transaction(engine: AsyncEngine) -> None:
    insert_probe = text("INSERT INTO lease_probe VALUES (:v)")
    count_probe = text("SELECT count(*) FROM lease_probe WHERE v >= :v")

    def insert_then_fail(conn: Any, v: int) -> None:
        conn.execute(insert_probe, {"v": v})
        raise RuntimeError("after the insert")

    checkouts = _checkouts(engine)
    for scoped in (False, True):
        async with request_scope() if scoped else contextlib.nullcontext():
            await write(engine, run, insert_probe, {"v": 1})
            assert await _count(engine) == 1 + scoped  # committed when write returned
            with pytest.raises(RuntimeError):
                await write(engine, insert_then_fail, 2)
            assert await read(engine, scalar_one, count_probe, {"v": 0}) == 1 + scoped
    # Unscoped: write, _count, failed write, read; scoped: the lease and _count's own.
    assert len(checkouts) == 4 + 2
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
