"""The hot path's database access: one transaction per unit of work, on the raw driver.

SQL is written once, with ``:name`` parameters, and runs on both databases:

- **SQLite** (:class:`SqliteDatabase`): one ``sqlite3`` connection per process, called
  directly on the event loop. A write unit of work is ``BEGIN IMMEDIATE … COMMIT`` and
  awaits nothing that suspends in between, so no other request of the process can
  interleave; the per-process :class:`asyncio.Lock` only matters if a caller breaks that
  rule (it then waits instead of failing). The writers of otpgate's processes take turns
  on a file lock beside the database (:class:`_WriterLock`), waited for in a thread, in
  bounded runs of one process's queued writers; other programs that write the file meet
  SQLite's own ``busy_timeout``.
  Read units of work use a deferred ``BEGIN``, so WAL readers never queue for the writer.
  WAL checkpoints (copying the log back into the database, with its ``fsync``) run in a
  thread of their own (:class:`_Checkpointer`), not inside the commit that happens to
  cross SQLite's threshold while it holds the write lock.
- **PostgreSQL** (:class:`PostgresDatabase`): an asyncpg pool, one connection and one
  transaction per unit of work. asyncpg prepares each statement once per connection and
  reuses it; the pool does not ping or reset connections on checkout or return, so a unit
  of work costs ``BEGIN``, its statements and ``COMMIT``, and nothing else.

SQLAlchemy stays where it pays: the schema (``tables.py``), the alembic migrations and
the admin paths (accounts, purge).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import threading
import time
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


def _open_lock_file(path: str) -> int:
    """The file beside the database whose ``flock`` orders otpgate's writers."""
    return os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)


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
            self.fd = _open_lock_file(path)

    async def acquire(self) -> None:
        if self.fd is None:
            return
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            taken = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, self.fd, fcntl.LOCK_EX))
            try:
                await asyncio.shield(taken)
            except asyncio.CancelledError:
                # The thread takes the lock all the same: give it back once it has.
                taken.add_done_callback(self._give_back)
                raise

    def _give_back(self, taken: asyncio.Future[None]) -> None:
        if not taken.cancelled() and taken.exception() is None:
            self.release()

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _Checkpointer:
    """Checkpoints the WAL every ``interval`` seconds on a connection and a thread of its
    own, so no request's commit pays for it.

    SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages of log:
    with the write lock held, it copies the pages back and ``fsync``s the database, a
    stall of milliseconds every hundred or so requests that every other writer of every
    process waits behind. A ``PASSIVE`` checkpoint takes no lock a writer needs (writers go
    on appending to the log meanwhile), and ``sqlite3`` releases the GIL while it runs.

    But SQLite starts the log over only when a writer begins while every frame is back in
    the database and no reader holds a snapshot in the log. Under steady writes a pass
    never ends before the next write, so that never happens: the WAL grew by about 110 MB
    a second under ``make bench`` (2.3 GB in 16 s). So once the log passes
    :data:`CATCH_UP_FRAMES`, the checkpointer takes the writers' file lock
    (:class:`_WriterLock`, on a descriptor of its own), so that no otpgate writer appends,
    and checkpoints with ``RESTART``: it copies the frames written since its last pass,
    waits (at most :data:`CATCH_UP_WAIT_MS`) for the readers of an older snapshot, and
    starts the log over."""

    def __init__(self, path: str, interval: float = 0.2) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="otpgate-wal", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        lock = None
        if fcntl is not None:
            lock = _open_lock_file(self.path)
        try:
            conn.execute("PRAGMA busy_timeout=0")  # busy: the next round tries again
            while not self._stop.wait(self.interval):
                with contextlib.suppress(sqlite3.Error):
                    frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
                    if lock is not None and frames > CATCH_UP_FRAMES:
                        self.catch_up(conn, lock)
        finally:
            conn.close()
            if lock is not None:
                os.close(lock)

    @staticmethod
    def catch_up(conn: sqlite3.Connection, lock: int) -> None:
        """Copy the rest of the log back and start it over, with the writers held off."""
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits for the run of writers under way
        try:
            conn.execute(f"PRAGMA busy_timeout={CATCH_UP_WAIT_MS}")
            conn.execute("PRAGMA wal_checkpoint(RESTART)")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            conn.execute("PRAGMA busy_timeout=0")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# A run of one process's writers is short: while it lasts, the other process's requests
# queue with its event loop idle. Measured with two workers (docs/benchmarks.md, "SQLite
# writer runs"): runs of 2 with a 0.1 ms handover answer about 1.3 times the wrong-code
# verifies of runs of 16 with a 1 ms handover; runs of 1 pay a handover per transaction.
RUN_LIMIT = 2
RUN_SECONDS = 0.01
CATCH_UP_FRAMES = 8192  # 32 MiB of log at 4 KiB pages
CATCH_UP_WAIT_MS = 100
HANDOVER_SECONDS = 0.0001


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
        self._holding = False  # this process holds the file lock (a run of writers)
        self._waiting = 0  # writers of this process queued for ``_lock``
        self._run = 0
        self._run_started = 0.0
        self._handing_over = False
        # Reads on a connection of their own: a WAL reader never waits for the writer.
        shared = path in ("", ":memory:")
        self._reader = self.conn if shared else _sqlite_connection(path, busy_timeout_ms)
        self._read_tx = self._tx if shared else _SqliteTransaction(self._reader)
        self._read_lock = self._lock if shared else asyncio.Lock()
        self._checkpointer: _Checkpointer | None = None
        if not shared:
            self.conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's work
            self._checkpointer = _Checkpointer(path)

    async def begin(self, write: bool) -> Transaction:
        if not write:
            await self._read_lock.acquire()
            try:
                self._reader.execute("BEGIN")
            except BaseException:
                self._read_lock.release()
                raise
            return self._read_tx
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
            self._release_if_idle()  # a waiter cancelled: the kept file lock goes
        try:
            if not self._holding:
                if self._handing_over:
                    # A run just ended at its bound: the other process's writer, woken by
                    # the release, takes the lock now (flock grants no turns of its own).
                    self._handing_over = False
                    await asyncio.sleep(HANDOVER_SECONDS)
                await self._writer.acquire()
                self._holding, self._run, self._run_started = True, 0, time.monotonic()
            self._run += 1
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._let_go()
            self._lock.release()
            raise
        return self._tx

    def _end(self, tx: Transaction, statement: str | None) -> bool:
        """Ends ``tx``; for a write, says whether the file lock was kept for the next."""
        conn = self._reader if tx is self._read_tx else self.conn
        kept = False
        try:
            if statement is not None:
                conn.execute(statement)
        finally:
            if conn.in_transaction:  # COMMIT failed: leave nothing open
                conn.execute("ROLLBACK")
            if tx is self._read_tx and self._read_lock is not self._lock:
                self._read_lock.release()
            else:
                kept = self._keep()
                if not kept:
                    self._handing_over = self._holding and self._waiting > 0
                    self._let_go()
                self._lock.release()
        return kept

    def _keep(self) -> bool:
        """Keep the file lock for this process's next writer, already queued? Handing the
        lock to the other process costs a wake-up there; a run of queued writers pays it
        once. Bounded, so the other process waits at most :data:`RUN_LIMIT` transactions
        or :data:`RUN_SECONDS`."""
        return (
            self._holding
            and self._waiting > 0
            and self._run < RUN_LIMIT
            and time.monotonic() - self._run_started < RUN_SECONDS
        )

    def _let_go(self) -> None:
        if self._holding:
            self._holding = False
            self._writer.release()

    def _release_if_idle(self) -> None:
        if self._holding and self._waiting == 0 and not self._lock.locked():
            self._let_go()

    async def commit(self, tx: Transaction) -> None:
        if self._end(tx, "COMMIT"):
            # The queued writer was woken by the release: let it run before this one's
            # answer is written, so the kept lock is not held idle meanwhile.
            await asyncio.sleep(0)

    async def rollback(self, tx: Transaction) -> None:
        self._end(tx, None)

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._let_go()
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
