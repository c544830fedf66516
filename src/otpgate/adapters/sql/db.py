"""SQLAlchemy engines for the admin paths: database URLs as people write them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


def async_url(url: str) -> str:
    """Map the URLs people already have to the async drivers otpgate uses.

    ``sqlite:///var/x.db`` → ``sqlite+aiosqlite:///var/x.db``;
    ``postgresql://u@h/db``, ``postgres://…``, ``postgresql+psycopg://…``,
    ``postgresql+psycopg2://…`` and ``postgresql+asyncpg://…`` → ``postgresql+asyncpg://…``.
    libpq's ``sslmode=`` becomes asyncpg's ``ssl=`` (same values).
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        query = dict(parsed.query)
        if "sslmode" in query:
            query.setdefault("ssl", query.pop("sslmode"))
        parsed = parsed.set(drivername="postgresql+asyncpg", query=query)
        return parsed.render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() in ("postgresql", "postgres")


def ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def sqlite_path(url: str) -> str:
    database = make_url(url).database
    return database if database not in (None, "") else ":memory:"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # aiosqlite runs each connection in a thread of its own: waiting there for another
    # connection's write lock stops nothing else.
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets WAL and a busy timeout on every connection."""
    target = async_url(url)
    if is_sqlite(url):
        ensure_sqlite_dir(url)
        # The admin paths (accounts, purge) only: the hot path has its own connection
        # (adapters/sql/database.py).
        engine = create_async_engine(target, pool_size=2, max_overflow=max_overflow)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if pool_size == 0:
        return create_async_engine(target, poolclass=NullPool)
    # pre_ping notices connections a PostgreSQL restart or a proxy dropped; recycle keeps
    # them younger than the idle timeouts load balancers and poolers commonly use.
    return create_async_engine(
        target,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
    )
