"""The outbox: where sandbox messages (and the dev provider's) are kept to be read back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from otpgate.core.uow import OutboxEntry
from otpgate.storage.database import Transaction

_ADD = (
    "INSERT INTO outbox (id, tenant_id, environment, channel, destination, subject, body,"
    " created_at) VALUES (:id, :tenant_id, :environment, :channel, :destination, :subject,"
    " :body, :created_at)"
)
_LIST = (
    "SELECT id, tenant_id, environment, channel, destination, subject, body, created_at"
    " FROM outbox WHERE (CAST(:tenant_id AS TEXT) IS NULL OR tenant_id = :tenant_id)"
    " AND (CAST(:environment AS TEXT) IS NULL OR environment = :environment)"
    " AND (CAST(:destination AS TEXT) IS NULL OR destination = :destination)"
    " ORDER BY created_at DESC, id LIMIT :limit"
)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: str
    tenant_id: str
    environment: str
    channel: str
    destination: str
    subject: str | None
    body: str
    created_at: float


class SqlOutbox:
    __slots__ = ("tx",)

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(self, entry: OutboxEntry) -> str:
        message_id = str(uuid.uuid4())
        await self.tx.execute(
            _ADD,
            {
                "id": message_id,
                "tenant_id": entry.tenant_id,
                "environment": entry.environment,
                "channel": entry.channel,
                "destination": entry.destination,
                "subject": entry.subject,
                "body": entry.body,
                "created_at": entry.created_at,
            },
        )
        return message_id

    async def list(
        self,
        tenant_id: str | None,
        environment: str | None,
        destination: str | None = None,
        limit: int = 50,
    ) -> list[OutboxMessage]:
        """Newest first; ``None`` for ``tenant_id`` or ``environment``: every one (the
        operator's CLI). An API caller always passes both, from its key."""
        params = {
            "tenant_id": tenant_id,
            "environment": environment,
            "destination": destination,
            "limit": limit,
        }
        rows = await self.tx.fetch(_LIST, params)
        return [
            OutboxMessage(
                r["id"],
                r["tenant_id"],
                r["environment"],
                r["channel"],
                r["destination"],
                r["subject"],
                r["body"],
                r["created_at"],
            )
            for r in rows
        ]
