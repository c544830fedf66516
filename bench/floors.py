"""The two floors otpgate is compared with, served by the same uvicorn as otpgate.

- ``GET /bare``: a bare Starlette JSON endpoint (the least any HTTP answer costs).
- ``POST /write``: parses a small JSON body, then one SQLite transaction (WAL,
  ``synchronous=NORMAL``, like otpgate) doing one INSERT and one UPDATE: the least
  a persisted verification can cost.

The database file comes from ``BENCH_FLOOR_DB``. Each worker process opens its
own connection at startup.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

COUNTERS = 1000
_db: dict[str, sqlite3.Connection] = {}


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL,"
        " created_at REAL NOT NULL)"
    )
    conn.execute("CREATE TABLE IF NOT EXISTS counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    conn.executemany(
        "INSERT OR IGNORE INTO counters (id, n) VALUES (?, 0)", [(i,) for i in range(COUNTERS)]
    )
    conn.execute("COMMIT")
    return conn


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    _db["conn"] = _connect(os.environ["BENCH_FLOOR_DB"])
    try:
        yield
    finally:
        _db.pop("conn").close()


async def bare(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def write(request: Request) -> JSONResponse:
    body = await request.json()
    conn = _db["conn"]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO events (request_id, created_at) VALUES (?, ?)",
            (str(body.get("id")), time.time()),
        )
        conn.execute("UPDATE counters SET n = n + 1 WHERE id = ?", (random.randrange(COUNTERS),))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[Route("/bare", bare), Route("/write", write, methods=["POST"])], lifespan=lifespan
)
