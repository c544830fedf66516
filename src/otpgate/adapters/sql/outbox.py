"""The outbox: where sandbox messages (and the dev provider's) are kept to be read back.

Destination, subject and body are stored sealed (``sealed.py``); a listing by
destination finds its messages by ``destination_key``, a keyed hash of the destination.
"""

from __future__ import annotations

import uuid

from otpgate.adapters.sql.database import Transaction
from otpgate.adapters.sql.sealed import Sealer
from otpgate.core.uow import OutboxEntry, OutboxMessage

_ADD = (
    "INSERT INTO outbox (id, tenant_id, environment, channel, destination, destination_key,"
    " subject, body, created_at) VALUES (:id, :tenant_id, :environment, :channel,"
    " :destination, :destination_key, :subject, :body, :created_at)"
)
_LIST = (
    "SELECT id, tenant_id, environment, channel, destination, subject, body, created_at"
    " FROM outbox WHERE (CAST(:tenant_id AS TEXT) IS NULL OR tenant_id = :tenant_id)"
    " AND (CAST(:environment AS TEXT) IS NULL OR environment = :environment)"
    " AND (CAST(:destination_key AS TEXT) IS NULL OR destination_key = :destination_key)"
    " ORDER BY created_at DESC, id LIMIT :limit"
)


class SqlOutbox:
    __slots__ = ("sealer", "tx")

    def __init__(self, tx: Transaction, sealer: Sealer) -> None:
        self.tx = tx
        self.sealer = sealer

    async def add(self, entry: OutboxEntry) -> str:
        message_id = str(uuid.uuid4())
        await self.tx.execute(
            _ADD,
            {
                "id": message_id,
                "tenant_id": entry.tenant_id,
                "environment": entry.environment,
                "channel": entry.channel,
                "destination": self.sealer.seal(entry.destination),
                "destination_key": self.sealer.lookup(entry.destination),
                "subject": self.sealer.seal_optional(entry.subject),
                "body": self.sealer.seal(entry.body),
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
            "destination_key": self.sealer.lookup(destination) if destination else None,
            "limit": limit,
        }
        rows = await self.tx.fetch(_LIST, params)
        open_ = self.sealer.open
        return [
            OutboxMessage(
                r["id"],
                r["tenant_id"],
                r["environment"],
                r["channel"],
                open_(r["destination"]),
                self.sealer.open_optional(r["subject"]),
                open_(r["body"]),
                r["created_at"],
            )
            for r in rows
        ]
