"""The outbox: where sandbox (and the dev provider's) messages are kept to be read back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.storage.lease import begin, connect
from otpgate.storage.tables import outbox


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: str
    tenant_id: str
    channel: str
    destination: str
    subject: str | None
    body: str
    created_at: float


class OutboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(
        self,
        *,
        tenant_id: str,
        channel: str,
        destination: str,
        subject: str | None,
        body: str,
        created_at: float,
    ) -> str:
        message_id = str(uuid.uuid4())
        async with begin(self.engine) as conn:
            await conn.execute(
                insert(outbox).values(
                    id=message_id,
                    tenant_id=tenant_id,
                    channel=channel,
                    destination=destination,
                    subject=subject,
                    body=body,
                    created_at=created_at,
                )
            )
        return message_id

    async def list(
        self, tenant_id: str | None, destination: str | None = None, limit: int = 50
    ) -> list[OutboxMessage]:
        stmt = select(outbox).order_by(outbox.c.created_at.desc(), outbox.c.id).limit(limit)
        if tenant_id is not None:
            stmt = stmt.where(outbox.c.tenant_id == tenant_id)
        if destination is not None:
            stmt = stmt.where(outbox.c.destination == destination)
        async with connect(self.engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            OutboxMessage(
                r.id, r.tenant_id, r.channel, r.destination, r.subject, r.body, r.created_at
            )
            for r in rows
        ]
