"""One pooled connection per request, instead of a pool checkout per statement.

Checking a connection out of SQLAlchemy's pool and returning it (with its
reset-on-return rollback, and on PostgreSQL a pre-ping) costs more Python than
running a short statement: about 200 of the ~370 function calls of a one-statement
transaction (``bench/cpu.py``). Inside :func:`request_scope`, the stores that use
:func:`begin` and :func:`connect` share one connection per engine, checked out on
first use and returned when the scope ends.

Transactions do not change: each ``begin()`` block is still its own transaction,
committed at the end of the block exactly as with ``engine.begin()``; ``connect()``
blocks (reads) are rolled back at their end, as the pool resets a returned connection,
so nothing stays open between two store calls. Outside a scope, or when the leased
connection is busy (a nested store call, another task that inherited the context) or
broken, both fall back to the pool. Deliveries go through :class:`ReleasingCourier`,
which returns the connection first: a slow provider never holds one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from otpgate.core.model import DeliveryResult, OutgoingMessage
from otpgate.core.ports import Courier


class _Lease:
    """The connections one request holds, one per engine, and who may use them."""

    def __init__(self) -> None:
        self.owner = asyncio.current_task()
        self.held: dict[AsyncEngine, AsyncConnection] = {}
        self.busy: set[AsyncConnection] = set()
        self.open = True

    async def take(self, engine: AsyncEngine) -> AsyncConnection | None:
        if not self.open or asyncio.current_task() is not self.owner:
            return None
        conn = self.held.get(engine)
        if conn is not None and conn.sync_connection is not None:
            if conn in self.busy:
                return None
            if not conn.invalidated:
                self.busy.add(conn)
                return conn
            del self.held[engine]
            await conn.close()
        conn = await engine.connect()
        self.held[engine] = conn
        self.busy.add(conn)
        return conn

    async def give_back(self) -> None:
        """Return the idle connections to the pool; the next store call takes one again."""
        idle = {e: c for e, c in self.held.items() if c not in self.busy}
        for engine, conn in idle.items():
            del self.held[engine]
            await conn.close()

    async def close(self) -> None:
        self.open = False
        await self.give_back()


_lease: ContextVar[_Lease | None] = ContextVar("otpgate_connection_lease", default=None)
T = TypeVar("T")


@asynccontextmanager
async def request_scope() -> AsyncIterator[None]:
    """Share one connection per engine among the store calls inside this block."""
    lease = _Lease()
    token = _lease.set(lease)
    try:
        yield
    finally:
        _lease.reset(token)
        await lease.close()


@asynccontextmanager
async def released() -> AsyncIterator[None]:
    """Hold no pooled connection during this block (a wait on something else, such as a
    delivery provider), so slow deliveries cannot exhaust the pool."""
    lease = _lease.get()
    if lease is not None and asyncio.current_task() is lease.owner:
        await lease.give_back()
    yield


class ReleasingCourier:
    """A courier that holds no pooled connection while it delivers (see :func:`released`)."""

    def __init__(self, inner: Courier) -> None:
        self.inner = inner

    async def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        async with released():
            return await self.inner.deliver(message)


@asynccontextmanager
async def begin(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.begin()``: a connection in a transaction committed when the block ends."""
    lease = _lease.get()
    conn = await lease.take(engine) if lease is not None else None
    if conn is None:
        async with engine.begin() as fresh:
            yield fresh
        return
    try:
        async with conn.begin():
            yield conn
    finally:
        lease.busy.discard(conn)  # type: ignore[union-attr]


@asynccontextmanager
async def connect(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.connect()``, for reads. On the leased connection the read's transaction is
    rolled back when the block ends, as the pool's reset would, so no snapshot or lock
    stays open between two store calls."""
    lease = _lease.get()
    conn = await lease.take(engine) if lease is not None else None
    if conn is None:
        async with engine.connect() as fresh:
            yield fresh
        return
    try:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            await trans.rollback()
    finally:
        lease.busy.discard(conn)  # type: ignore[union-attr]


# The hot store calls: the statements of one block run in ONE greenlet hop (``run_sync``)
# instead of one for the begin, one per statement and one for the commit. ``fn`` gets a
# sync ``Connection`` and returns plain values (results are buffered by the async drivers).


def _in_write(conn: Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    with conn.begin():
        return fn(conn, *args)


def _in_read(conn: Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    trans = conn.begin()
    try:
        return fn(conn, *args)
    finally:
        trans.rollback()


async def _run(engine: AsyncEngine, runner: Callable[..., T], fn: Callable[..., T], args: Any) -> T:
    lease = _lease.get()
    conn = await lease.take(engine) if lease is not None else None
    if conn is None:
        async with engine.connect() as fresh:
            return await fresh.run_sync(runner, fn, args)
    try:
        return await conn.run_sync(runner, fn, args)
    finally:
        lease.busy.discard(conn)  # type: ignore[union-attr]


async def write(engine: AsyncEngine, fn: Callable[..., T], *args: Any) -> T:
    """``fn(conn, *args)`` in a transaction of its own, committed when it returns."""
    return await _run(engine, _in_write, fn, args)


async def read(engine: AsyncEngine, fn: Callable[..., T], *args: Any) -> T:
    """``fn(conn, *args)`` for reads; its transaction is rolled back when it returns."""
    return await _run(engine, _in_read, fn, args)


# Single-statement ``fn`` for read/write: ``await write(engine, first, stmt, params)``.
def run(conn: Connection, stmt: Executable, params: dict[str, Any]) -> None:
    conn.execute(stmt, params)


def first(conn: Connection, stmt: Executable, params: dict[str, Any]) -> Row[Any] | None:
    return conn.execute(stmt, params).first()


def rowcount(conn: Connection, stmt: Executable, params: dict[str, Any]) -> int:
    return conn.execute(stmt, params).rowcount


def scalar(conn: Connection, stmt: Executable, params: dict[str, Any]) -> Any:
    return conn.execute(stmt, params).scalar_one_or_none()


def scalar_one(conn: Connection, stmt: Executable, params: dict[str, Any]) -> Any:
    return conn.execute(stmt, params).scalar_one()
