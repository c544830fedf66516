"""Seed pending evaluations straight into otpgate's database (SQLite or PostgreSQL), fast.

Each seeded evaluation looks exactly like one ``POST /api/evaluation`` leaves
behind (evaluation row, verification session, delivery enrichment), so PATCH and
GET treat it as any other. The rows are written with plain ``sqlite3``
``executemany`` using the column lists of ``otpgate.adapters.sql.tables``; codes are
derived with otpgate's own ``Keyring`` so the bench knows the right code.
PostgreSQL gets the same rows through ``COPY`` (psycopg, from the dev extra).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from otpgate.adapters.sql.tables import enrichments, evaluations, sessions
from otpgate.core.codes import Keyring, new_nonce


def lookup_key_for(secret: bytes) -> bytes:
    """The bench's lookup key, derived from its code secret so that seeding and the server
    agree on key ids (``OTPGATE_LOOKUP_KEY``)."""
    return hashlib.sha256(b"bench-lookup:" + secret).digest()


def secret_env(secret: bytes) -> dict[str, str]:
    """The secrets a bench server gets from its environment."""
    return {
        "OTPGATE_CODE_SECRET": base64.b64encode(secret).decode(),
        "OTPGATE_LOOKUP_KEY": base64.b64encode(lookup_key_for(secret)).decode(),
    }


def bench_keyring(secret: bytes) -> Keyring:
    return Keyring.rotating([secret], lookup_key=lookup_key_for(secret))


@dataclass(frozen=True)
class Seeded:
    eval_id: str
    code: str


def _insert_sql(table: Table) -> tuple[str, list[str]]:
    cols = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
    if table is enrichments:
        cols = [c for c in cols if c != "id"]
    marks = ", ".join("?" for _ in cols)
    return f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({marks})", cols


def _rows(
    tenant_id: str,
    keyring: Keyring,
    count: int,
    max_attempts: int,
    ttl: float,
    prefix: str,
    want_codes: bool,
) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]]:
    now = time.time()
    for n in range(count):
        sid = str(uuid.uuid4())
        eid = str(uuid.uuid4())
        nonce = new_nonce()
        phone = f"+1415{random.randint(2_000_000, 9_999_999)}"
        session = {
            "id": sid,
            "tenant_id": tenant_id,
            "environment": "production",
            "channel": "sms",
            "destination_kind": "phone",
            "destination": phone,
            "destination_country": "US",
            "destination_line_type": "fixed_or_mobile",
            "destination_calling_code": "1",
            "destination_key": f"{tenant_id}:{keyring.fingerprint(phone)}",
            "nonce": nonce,
            "key_id": keyring.current,
            "code_length": 6,
            "max_attempts": max_attempts,
            "state": "pending",
            "attempts": 0,
            "sends": 1,
            "locale": None,
            "created_at": now,
            "expires_at": now + ttl,
            "closed_at": None,
        }
        evaluation = {
            "id": eid,
            "tenant_id": tenant_id,
            "client_id": f"{prefix}-{n}",
            "workflow": "otp_verification",
            "environment": "production",
            "status": "ON_HOLD",
            "sub_status": "Pending OTP Code",
            "decision": "REVIEW",
            "eval_status": "evaluation_paused",
            "tags": "[]",
            "review_queues": "[]",
            "session_id": sid,
            "channel": "sms",
            "individual": json.dumps({"phone_number": phone}),
            "version": 2,
            "started_at": now,
            "ended_at": now,
            "decision_at": None,
            "notes": None,
        }
        enrichment = {
            "evaluation_id": eid,
            "body": json.dumps(
                {
                    "enrichment_name": "Deliver OTP SMS",
                    "enrichment_endpoint": "/internal/otp/outbox/send",
                    "enrichment_provider": "outbox",
                    "status_code": 200,
                    "request": {"destination": "+1415*****" + phone[-2:], "channel": "sms"},
                    "response": {"verificationId": sid, "providerMessageId": str(uuid.uuid4())},
                    "is_source_cache": False,
                }
            ),
            "created_at": now,
        }
        code = keyring.derive(keyring.current, sid, nonce, 6) if want_codes else ""
        yield session, evaluation, enrichment, code


def write_pool(path: Path, rows: list[Seeded], wrong: bool) -> Path:
    """One "eval_id code" line per evaluation (the Lua scripts read it); wrong: code + 1."""
    lines = []
    for r in rows:
        code = f"{(int(r.code) + 1) % 10**6:06d}" if wrong else r.code
        lines.append(f"{r.eval_id} {code}")
    path.write_text("\n".join(lines) + "\n")
    return path


def tenant_id_of(db_path: str, name: str) -> str:
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("SELECT id FROM tenants WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise SystemExit(f"no tenant {name!r} in {db_path}")
    return str(row[0])


def seed(
    db_path: str,
    *,
    tenant_id: str,
    secret: bytes,
    count: int,
    max_attempts: int,
    ttl: float,
    prefix: str,
    want_codes: bool = True,
    batch: int = 20_000,
) -> list[Seeded]:
    """Insert ``count`` pending evaluations; return their ids and right codes."""
    keyring = bench_keyring(secret)
    statements = [_insert_sql(t) for t in (sessions, evaluations, enrichments)]
    out: list[Seeded] = []
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    try:
        buffers: list[list[tuple[Any, ...]]] = [[], [], []]

        def flush() -> None:
            conn.execute("BEGIN IMMEDIATE")
            for (sql, _cols), buf in zip(statements, buffers, strict=True):
                conn.executemany(sql, buf)
                buf.clear()
            conn.execute("COMMIT")

        for session, evaluation, enrichment, code in _rows(
            tenant_id, keyring, count, max_attempts, ttl, prefix, want_codes
        ):
            for (_sql, cols), buf, row in zip(
                statements, buffers, (session, evaluation, enrichment), strict=True
            ):
                buf.append(tuple(row[c] for c in cols))
            if want_codes:
                out.append(Seeded(evaluation["id"], code))
            if len(buffers[0]) >= batch:
                flush()
        flush()
    finally:
        conn.close()
    return out


def tenant_id_postgres(dsn: str, name: str) -> str:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT id FROM tenants WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise SystemExit(f"no tenant {name!r} in {dsn}")
    return str(row[0])


def seed_postgres(
    dsn: str,
    *,
    tenant_id: str,
    secret: bytes,
    count: int,
    max_attempts: int,
    ttl: float,
    prefix: str,
) -> list[Seeded]:
    """``seed`` for PostgreSQL: the same rows, one ``COPY`` per table, one transaction."""
    import psycopg

    keyring = bench_keyring(secret)
    rows = list(_rows(tenant_id, keyring, count, max_attempts, ttl, prefix, True))
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for i, table in enumerate((sessions, evaluations, enrichments)):
            _sql, cols = _insert_sql(table)
            with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[i][c] for c in cols])
    return [Seeded(r[1]["id"], r[3]) for r in rows]
