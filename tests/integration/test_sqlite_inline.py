"""The inline SQLite driver: transactions run without thread hops, and never deadlock."""

from __future__ import annotations

import asyncio
import sqlite3

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


async def test_a_lock_held_elsewhere_is_waited_for_without_stopping_the_loop(
    db_url: str, tmp_path: object
) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        # Another process's connection, as far as this one can tell: plain sqlite3.
        other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t (v) VALUES ('other')")
        asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        running = asyncio.create_task(ticker())
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('mine')"))
        running.cancel()
        other.close()
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
        assert rows == ["other", "mine"]
        assert ticks >= 10  # the loop went on serving while the write waited ~0.3 s
    finally:
        await engine.dispose()
