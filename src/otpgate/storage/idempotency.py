"""Stored responses keyed by a client's request id: the double-submit guard."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.storage.lease import begin, connect, released, run, write
from otpgate.storage.tables import idempotency

# Hot statements are built once (see storage/sessions.py).
_CLAIM = insert(idempotency)
_SAVE = (
    update(idempotency)
    .where(
        idempotency.c.tenant_id == bindparam("k_tenant_id"),
        idempotency.c.scope == bindparam("k_scope"),
        idempotency.c.request_id == bindparam("k_request_id"),
    )
    .values(status_code=bindparam("status_code"), body=bindparam("body"))
)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: Any


class IdempotencyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def claim(self, tenant_id: str, scope: str, request_id: str) -> bool:
        """Reserve the request id; ``False`` if another request holds or used it."""
        try:
            params = {
                "tenant_id": tenant_id,
                "scope": scope,
                "request_id": request_id,
                "created_at": time.time(),
            }
            await write(self.engine, run, _CLAIM, params)
        except IntegrityError:
            return False
        return True

    async def wait_for(
        self, tenant_id: str, scope: str, request_id: str, timeout: float = 5.0
    ) -> StoredResponse | None:
        """The stored response for a claimed id, waiting while its first request runs."""
        deadline = time.monotonic() + timeout
        where = (
            idempotency.c.tenant_id == tenant_id,
            idempotency.c.scope == scope,
            idempotency.c.request_id == request_id,
        )
        while True:
            async with connect(self.engine) as conn:
                row = (await conn.execute(select(idempotency).where(*where))).first()
            if row is None:
                return None
            if row.status_code is not None:
                return StoredResponse(row.status_code, row.body)
            if time.monotonic() >= deadline:
                return None
            async with released():  # no pooled connection held while waiting
                await asyncio.sleep(0.02)

    async def save(
        self, tenant_id: str, scope: str, request_id: str, status_code: int, body: Any
    ) -> None:
        params = {
            "k_tenant_id": tenant_id,
            "k_scope": scope,
            "k_request_id": request_id,
            "status_code": status_code,
            "body": body,
        }
        await write(self.engine, run, _SAVE, params)

    async def release(self, tenant_id: str, scope: str, request_id: str) -> None:
        async with begin(self.engine) as conn:
            await conn.execute(
                delete(idempotency).where(
                    idempotency.c.tenant_id == tenant_id,
                    idempotency.c.scope == scope,
                    idempotency.c.request_id == request_id,
                    idempotency.c.status_code.is_(None),
                )
            )
