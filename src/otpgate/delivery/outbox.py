"""The outbox provider: keeps the message where ``/v1/outbox`` and the CLI can show it."""

from __future__ import annotations

from otpgate.core.model import Channel, DeliveryResult, OutgoingMessage
from otpgate.delivery.base import Rendered
from otpgate.storage.outbox import OutboxStore


class OutboxProvider:
    name = "outbox"
    channels = frozenset(Channel)

    def __init__(self, store: OutboxStore) -> None:
        self.store = store

    async def send(self, message: OutgoingMessage, rendered: Rendered) -> DeliveryResult:
        message_id = await self.store.add(
            tenant_id=message.tenant_id,
            channel=str(message.channel),
            destination=message.destination.value,
            subject=rendered.subject,
            body=rendered.text,
            created_at=message.now,
        )
        return DeliveryResult(
            ok=True, provider=self.name, status_code=200, provider_message_id=message_id
        )
