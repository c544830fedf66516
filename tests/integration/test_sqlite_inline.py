"""The inline SQLite driver: transactions run without thread hops, and never deadlock."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from otpgate.storage.db import create_engine


async def test_a_writer_waits_for_a_transaction_held_across_an_await(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        holding = asyncio.Event()

        async def slow_writer() -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES ('first')"))
                holding.set()
                await asyncio.sleep(0.3)  # holds SQLite's write lock across a real await

        async def second_writer() -> None:
            await holding.wait()
            async with engine.begin() as conn:
                # PRAGMA busy_timeout would block the one event loop for its whole timeout
                # (and then fail) if this statement went to SQLite while the lock is held.
                await conn.execute(text("PRAGMA busy_timeout=50"))
                await conn.execute(text("INSERT INTO t (v) VALUES ('second')"))

        await asyncio.wait_for(asyncio.gather(slow_writer(), second_writer()), timeout=5)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
        assert rows == ["first", "second"]
    finally:
        await engine.dispose()


async def test_reads_go_on_while_another_connection_writes(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            await conn.execute(text("INSERT INTO t (v) VALUES ('committed')"))
        async with engine.begin() as writer:
            await writer.execute(text("INSERT INTO t (v) VALUES ('pending')"))
            async with engine.connect() as reader:
                seen = (await reader.execute(text("SELECT v FROM t"))).scalars().all()
        assert seen == ["committed"]
    finally:
        await engine.dispose()
