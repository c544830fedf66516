"""SQLite without a thread hop per call: the aiosqlite API, run inline on the event loop.

aiosqlite runs every cursor operation on a per-connection thread and wakes the
event loop when it is done; a short statement costs a few microseconds in SQLite
but tens of microseconds in hops, and a transaction keeps the write lock while
the loop gets round to the next hop, so concurrent requests queue behind it in
SQLite's sleeping busy handler. Here the same calls run synchronously instead:
a transaction of short statements finishes before any other coroutine runs.

Two guards keep that safe and fast:

- If a coroutine holds a write transaction open across a real ``await`` (anything
  but its own statements), another connection of the same process would block the
  loop in SQLite's busy handler, waiting for a lock its own loop must release. So
  a connection about to write while another connection of this process holds the
  write lock yields to the loop until the lock is free.
- Another process (``--workers``) may hold the lock. SQLite's own busy handler
  would sleep 1, 2, 5, 10… ms with the whole event loop stopped; instead the
  connections run with ``busy_timeout=0`` and a refused first write is rolled back
  (nothing else was done in that transaction: reads outside a write transaction
  autocommit) and retried after a short ``asyncio.sleep``, for up to
  ``BUSY_TIMEOUT`` seconds, while the loop serves other requests.

SQLAlchemy's aiosqlite dialect drives it, through ``create_async_engine(...,
async_creator=...)``; exceptions are the ``sqlite3`` classes aiosqlite re-exports.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

_READS = ("select", "pragma", "with", "explain")
BUSY_TIMEOUT = 10.0
_SQLITE_BUSY = 5


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == _SQLITE_BUSY


class _Writers:
    """Connections of this process that hold SQLite's write lock (an open transaction)."""

    def __init__(self) -> None:
        self.holders: set[InlineConnection] = set()

    async def wait_turn(self, conn: InlineConnection) -> None:
        # A bare yield, not an Event: holders commit inline, between two turns of the loop.
        while self.holders and conn not in self.holders:  # noqa: ASYNC110
            await asyncio.sleep(0)

    def update(self, conn: InlineConnection) -> None:
        if conn.raw.in_transaction:
            self.holders.add(conn)
        else:
            self.holders.discard(conn)


_writers = _Writers()


class InlineCursor:
    def __init__(self, conn: InlineConnection) -> None:
        self._conn = conn
        self._cursor = conn.raw.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        write = not sql.lstrip()[:7].lower().startswith(_READS)
        await self._run(write, lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, seq: Iterable[Any]) -> InlineCursor:
        rows = list(seq)
        await self._run(True, lambda: self._cursor.executemany(sql, rows))
        return self

    async def _run(self, write: bool, statement: Callable[[], object]) -> None:
        conn = self._conn
        deadline, pause = 0.0, 0.0002
        while True:
            if write:
                await _writers.wait_turn(conn)
            holding = conn in _writers.holders
            try:
                statement()
                return
            except sqlite3.OperationalError as exc:
                # Only a statement that held nothing yet can simply be tried again.
                if not _busy(exc) or holding:
                    raise
                if conn.raw.in_transaction:
                    conn.raw.rollback()
                loop = asyncio.get_running_loop()
                deadline = deadline or loop.time() + BUSY_TIMEOUT
                if loop.time() > deadline:
                    raise
            finally:
                _writers.update(conn)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.005)

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _ImmediateQueue:
    """Stands in for aiosqlite's work queue: SQLAlchemy sets isolation levels through it."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self._conn = raw  # aiosqlite's attribute names, read by SQLAlchemy
        self._connection: sqlite3.Connection | None = raw
        self._tx = _ImmediateQueue()

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        try:
            self.raw.commit()
        finally:
            _writers.update(self)

    async def rollback(self) -> None:
        try:
            self.raw.rollback()
        finally:
            _writers.update(self)

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self.raw.create_function(*args, **kw)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            _writers.holders.discard(self)
            self._connection = None
            self.raw.close()


def connector(path: str) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: opens ``path`` inline."""

    async def connect() -> InlineConnection:
        return InlineConnection(sqlite3.connect(path, check_same_thread=False))

    return connect
