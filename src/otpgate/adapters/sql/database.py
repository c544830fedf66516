"""The hot path's database access: one transaction per unit of work, on the raw driver.

SQL is written once, with ``:name`` parameters, and runs on both databases:

- **SQLite** (:class:`SqliteDatabase`): one ``sqlite3`` connection per process, called
  directly on the event loop. A write unit of work is ``BEGIN IMMEDIATE … COMMIT`` and
  awaits nothing that suspends in between, so no other request of the process can
  interleave; the per-process :class:`asyncio.Lock` only matters if a caller breaks that
  rule (it then waits instead of failing). Another process's write lock is waited for by
  SQLite's own ``busy_timeout``: at most one short transaction, cheaper than polling.
  Read units of work use a deferred ``BEGIN``, so WAL readers never queue for the writer.
- **PostgreSQL** (:class:`PostgresDatabase`): an asyncpg pool, one connection and one
  transaction per unit of work. asyncpg prepares each statement once per connection and
  reuses it; the pool does not ping or reset connections on checkout or return, so a unit
  of work costs ``BEGIN``, its statements and ``COMMIT``, and nothing else.

SQLAlchemy stays where it pays: the schema (``tables.py``), the alembic migrations and
the admin paths (accounts, purge).
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

try:
    import fcntl
except ImportError:  # not on Windows: SQLite's busy timeout alone orders the writers
    fcntl = None  # type: ignore[assignment]

Params = Mapping[str, Any]


class Row(Protocol):
    def __getitem__(self, key: str | int) -> Any: ...


class Transaction(Protocol):
    """The statements of one unit of work."""

    async def fetchrow(self, sql: str, params: Params) -> Row | None: ...

    async def fetch(self, sql: str, params: Params) -> Sequence[Row]: ...

    async def execute(self, sql: str, params: Params) -> int:
        """Run a write; return the number of rows it changed."""
        ...


class Database(Protocol):
    dialect: str

    async def begin(self, write: bool) -> Transaction: ...

    async def commit(self, tx: Transaction) -> None: ...

    async def rollback(self, tx: Transaction) -> None: ...

    async def close(self) -> None: ...


# -- SQLite --------------------------------------------------------------------------


class _SqliteTransaction:
    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def fetchrow(self, sql: str, params: Params) -> Row | None:
        row: Row | None = self.conn.execute(sql, params).fetchone()
        return row

    async def fetch(self, sql: str, params: Params) -> Sequence[Row]:
        rows: list[Row] = self.conn.execute(sql, params).fetchall()
        return rows

    async def execute(self, sql: str, params: Params) -> int:
        return self.conn.execute(sql, params).rowcount


def _sqlite_connection(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    # isolation_level=None: the module issues no BEGIN of its own; we do.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class _WriterLock:
    """Orders the write transactions of every otpgate process on one database file.

    SQLite's own busy handler, when another process holds the write lock, sleeps in steps
    of 1 to 100 ms with the event loop stopped; two workers then answer fewer writes than
    one. An ``flock`` on a file beside the database is handed over by the kernel the
    moment it is released: taken at once when free, and otherwise waited for in a worker
    thread, so the event loop goes on serving (reads use a connection of their own).
    Other programs that write the file (the CLI, migrations) still meet SQLite's busy
    timeout, as before."""

    def __init__(self, path: str) -> None:
        self.fd: int | None = None
        if fcntl is not None and path not in ("", ":memory:"):
            self.fd = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)

    async def acquire(self) -> None:
        if self.fd is None:
            return
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await asyncio.to_thread(fcntl.flock, self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, path: str, *, busy_timeout_ms: int = 5000) -> None:
        if path not in ("", ":memory:"):
            Path(path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = _sqlite_connection(path, busy_timeout_ms)
        self._tx = _SqliteTransaction(self.conn)
        self._lock = asyncio.Lock()
        self._writer = _WriterLock(path)
        # Reads on a connection of their own: a WAL reader never waits for the writer.
        shared = path in ("", ":memory:")
        self._reader = self.conn if shared else _sqlite_connection(path, busy_timeout_ms)
        self._read_tx = self._tx if shared else _SqliteTransaction(self._reader)
        self._read_lock = self._lock if shared else asyncio.Lock()

    async def begin(self, write: bool) -> Transaction:
        if not write:
            await self._read_lock.acquire()
            try:
                self._reader.execute("BEGIN")
            except BaseException:
                self._read_lock.release()
                raise
            return self._read_tx
        await self._lock.acquire()
        try:
            await self._writer.acquire()
        except BaseException:
            self._lock.release()
            raise
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._writer.release()
            self._lock.release()
            raise
        return self._tx

    def _end(self, tx: Transaction, statement: str | None) -> None:
        conn = self._reader if tx is self._read_tx else self.conn
        try:
            if statement is not None:
                conn.execute(statement)
        finally:
            if conn.in_transaction:  # COMMIT failed: leave nothing open
                conn.execute("ROLLBACK")
            if tx is self._read_tx and self._read_lock is not self._lock:
                self._read_lock.release()
            else:
                self._writer.release()
                self._lock.release()

    async def commit(self, tx: Transaction) -> None:
        self._end(tx, "COMMIT")

    async def rollback(self, tx: Transaction) -> None:
        self._end(tx, None)

    async def close(self) -> None:
        self._writer.close()
        if self._reader is not self.conn:
            self._reader.close()
        self.conn.close()


# -- PostgreSQL ----------------------------------------------------------------------

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class _Compiled:
    __slots__ = ("names", "sql")

    def __init__(self, sql: str) -> None:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.sql = _NAMED.sub(number, sql)
        self.names = tuple(names)

    def args(self, params: Params) -> list[Any]:
        return [params[name] for name in self.names]


_compiled: dict[str, _Compiled] = {}


def _compile(sql: str) -> _Compiled:
    found = _compiled.get(sql)
    if found is None:
        found = _compiled[sql] = _Compiled(sql)
    return found


class _PostgresTransaction:
    __slots__ = ("conn", "pool")

    def __init__(self, pool: Any, conn: Any) -> None:
        self.pool = pool
        self.conn = conn

    async def fetchrow(self, sql: str, params: Params) -> Row | None:
        c = _compile(sql)
        row: Row | None = await self.conn.fetchrow(c.sql, *c.args(params))
        return row

    async def fetch(self, sql: str, params: Params) -> Sequence[Row]:
        c = _compile(sql)
        rows: list[Row] = await self.conn.fetch(c.sql, *c.args(params))
        return rows

    async def execute(self, sql: str, params: Params) -> int:
        c = _compile(sql)
        status: str = await self.conn.execute(c.sql, *c.args(params))
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0


async def _no_reset(_conn: Any) -> None:
    """Every unit of work ends its own transaction; there is no session state to reset."""


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…``, ``postgres://…`` and friends as a libpq DSN for asyncpg."""
    _scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    return f"postgresql://{rest}"


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = asyncpg_dsn(url)
        self.min_size = min_size
        self.max_size = max(max_size, min_size, 1)
        self.pool: Any = None

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(
            self.dsn,
            min_size=self.min_size,
            max_size=self.max_size,
            reset=_no_reset,
            max_inactive_connection_lifetime=1800.0,
        )

    async def begin(self, write: bool) -> Transaction:
        conn = await self.pool.acquire()
        try:
            await conn.execute("BEGIN" if write else "BEGIN READ ONLY")
        except BaseException:
            await self.pool.release(conn)
            raise
        return _PostgresTransaction(self.pool, conn)

    async def commit(self, tx: Transaction) -> None:
        assert isinstance(tx, _PostgresTransaction)
        try:
            await tx.conn.execute("COMMIT")
        except BaseException:
            await self._discard(tx)
            raise
        await self.pool.release(tx.conn)

    async def rollback(self, tx: Transaction) -> None:
        assert isinstance(tx, _PostgresTransaction)
        try:
            if not tx.conn.is_closed():
                await tx.conn.execute("ROLLBACK")
        except BaseException:
            await self._discard(tx)
            raise
        await self.pool.release(tx.conn)

    async def _discard(self, tx: _PostgresTransaction) -> None:
        """A connection whose transaction state is unknown is closed, not reused."""
        tx.conn.terminate()
        await self.pool.release(tx.conn)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
