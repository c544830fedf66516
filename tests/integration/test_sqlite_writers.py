"""How writers share one SQLite file (``adapters/sql/database.py``).

Two :class:`SqliteDatabase` objects on one file stand for two worker processes: each opens
the writer lock file on its own descriptor, and ``flock`` excludes descriptors exactly as
it excludes processes. The orders asserted here are forced: the other "process" is
already blocked on the lock (in its thread) before the first one commits.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from otpgate.adapters.sql import database
from otpgate.adapters.sql.database import SqliteDatabase

pytestmark = pytest.mark.skipif(database.fcntl is None, reason="flock is POSIX-only")


def _schema(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE log (n INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT)")
    conn.close()


async def _write(db: SqliteDatabase, who: str, order: list[str], *, hold: float = 0) -> None:
    tx = await db.begin(write=True)
    await tx.execute("INSERT INTO log (who) VALUES (:who)", {"who": who})
    if hold:
        await asyncio.sleep(hold)  # breaks the no-suspension rule on purpose: others queue
    order.append(who)
    await db.commit(tx)


async def _blocked_in_thread(task: asyncio.Task[None]) -> None:
    """Lets ``task`` reach the thread that waits on the file lock."""
    for _ in range(20):
        await asyncio.sleep(0.02)
    assert not task.done()


@pytest.fixture
async def pair(tmp_path: Path, monkeypatch):
    # The runs here last as long as the test holds them, and take up to 16 writers; each
    # test that is about a bound sets its own.
    monkeypatch.setattr(database, "RUN_SECONDS", 60.0)
    monkeypatch.setattr(database, "RUN_LIMIT", 16)
    path = tmp_path / "w.db"
    _schema(path)
    a, b = SqliteDatabase(str(path)), SqliteDatabase(str(path))
    yield a, b
    await a.close()
    await b.close()


async def test_queued_writers_of_a_process_run_before_the_lock_moves(pair) -> None:
    a, b = pair
    order: list[str] = []
    first = asyncio.create_task(_write(a, "a1", order, hold=1.0))
    await asyncio.sleep(0.05)
    queued = [asyncio.create_task(_write(a, f"a{i}", order)) for i in (2, 3)]
    other = asyncio.create_task(_write(b, "b1", order))
    await _blocked_in_thread(other)
    await asyncio.gather(first, *queued, other)
    # Released after a1, the kernel would hand the lock to b's waiting thread at once.
    assert order == ["a1", "a2", "a3", "b1"]


async def test_a_run_is_bounded_so_the_other_process_gets_its_turn(pair, monkeypatch) -> None:
    a, b = pair
    monkeypatch.setattr(database, "RUN_LIMIT", 3)
    monkeypatch.setattr(database, "HANDOVER_SECONDS", 0.3)  # b's thread surely runs first
    order: list[str] = []
    first = asyncio.create_task(_write(a, "a1", order, hold=1.0))
    await asyncio.sleep(0.05)
    queued = [asyncio.create_task(_write(a, f"a{i}", order)) for i in range(2, 7)]
    other = asyncio.create_task(_write(b, "b1", order))
    await _blocked_in_thread(other)
    await asyncio.gather(first, *queued, other)
    assert order.index("b1") == 3, order


async def test_a_cancelled_waiter_does_not_keep_the_lock_from_the_other_process(pair) -> None:
    a, b = pair
    order: list[str] = []
    tx = await a.begin(write=True)
    waiter = asyncio.create_task(_write(a, "a2", order))
    await asyncio.sleep(0.05)
    other = asyncio.create_task(_write(b, "b1", order))
    await _blocked_in_thread(other)
    assert a._end(tx, "COMMIT")  # kept for the queued writer…
    waiter.cancel()  # …which leaves before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.wait_for(other, timeout=5)
    assert order == ["b1"]


async def test_a_writer_cancelled_while_waiting_for_the_file_lock_gives_it_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.db"
    _schema(path)
    a, b, c = (SqliteDatabase(str(path)) for _ in range(3))
    try:
        order: list[str] = []
        tx = await a.begin(write=True)
        gone = asyncio.create_task(_write(b, "b1", order))
        await _blocked_in_thread(gone)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        await a.commit(tx)  # b's thread takes the lock now, and gives it back
        await asyncio.wait_for(_write(c, "c1", order), timeout=5)
        assert order == ["c1"]
    finally:
        for db in (a, b, c):
            await db.close()


async def test_commits_do_not_checkpoint_and_the_background_thread_does(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    _schema(path)
    db = SqliteDatabase(str(path))
    try:
        assert db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        for i in range(50):
            await _write(db, f"w{i}", [])

        def in_main_file() -> int:
            # immutable=1 reads the database file alone, without the WAL.
            conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
            try:
                return int(conn.execute("SELECT count(*) FROM log").fetchone()[0])
            finally:
                conn.close()

        for _ in range(50):
            if in_main_file() == 50:
                break
            await asyncio.sleep(0.05)
        assert in_main_file() == 50
    finally:
        await db.close()


async def test_a_run_is_bounded_in_time_too(pair, monkeypatch) -> None:
    a, b = pair
    monkeypatch.setattr(database, "RUN_SECONDS", 0.5)
    monkeypatch.setattr(database, "HANDOVER_SECONDS", 0.3)
    order: list[str] = []
    first = asyncio.create_task(_write(a, "a1", order, hold=1.0))
    await asyncio.sleep(0.05)
    queued = asyncio.create_task(_write(a, "a2", order))
    other = asyncio.create_task(_write(b, "b1", order))
    await _blocked_in_thread(other)
    await asyncio.gather(first, queued, other)
    assert order == ["a1", "b1", "a2"]


def _log_frames(path: Path) -> int:
    """Frames in the WAL (a PASSIVE checkpoint reports them, and copies what it can)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        conn.close()


async def test_the_checkpointer_starts_the_log_over_though_readers_keep_it_in_use(
    tmp_path: Path,
) -> None:
    """SQLite starts the WAL over only when a writer begins while no reader holds a
    snapshot in the log. Under load one always does, so the log grows for as long as the
    load lasts, every frame copied back or not. The checkpointer's catch-up holds the
    writers off, waits for such a reader and starts the log over itself."""
    path = tmp_path / "w.db"
    _schema(path)
    db = SqliteDatabase(str(path))
    assert db._checkpointer is not None
    db._checkpointer.close()  # its passes are made by hand here
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def read() -> None:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM log").fetchone()  # a snapshot in the log

    try:
        for round_ in range(3):
            for i in range(50):
                await _write(db, f"{round_}-{i}", [])
            read()
            _log_frames(path)  # every frame copied back, with the reader still on the log
            await _write(db, f"{round_}-last", [])  # so this writer cannot start it over
            reader.execute("COMMIT")
        read()  # a snapshot in the log again (the last write is not copied back yet)
        assert _log_frames(path) > 150  # three rounds of writes, all still in the log
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        lock = os.open(f"{path}-writer.lock", os.O_RDWR)

        async def reader_finishes() -> None:
            await asyncio.sleep(0.05)
            reader.execute("COMMIT")

        try:
            finishing = asyncio.create_task(reader_finishes())
            await asyncio.to_thread(database._Checkpointer.catch_up, conn, lock)
            # A catch-up that did not wait for the reader would return before it finished,
            # and this write, with the reader still on the log, could not start it over.
            await _write(db, "after", [])
            await finishing
        finally:
            os.close(lock)
            conn.close()
        assert _log_frames(path) < 10  # started over: only the last write's frames
    finally:
        reader.close()
        await db.close()
