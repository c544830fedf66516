"""The outbox provider: keeps the message where ``/v1/outbox`` and the CLI can show it.

The courier hands outbox messages to the caller's unit of work (``Courier.outbox_entry``);
this provider is used only where the outbox stands after another provider in a
production failover list, and then writes in a short unit of work of its own.
"""

from __future__ import annotations

from otpgate.adapters.delivery.base import Rendered
from otpgate.core.model import Channel, DeliveryResult, OutgoingMessage
from otpgate.core.uow import OutboxEntry, UnitOfWorkFactory


def entry_for(message: OutgoingMessage, rendered: Rendered) -> OutboxEntry:
    """The outbox's record of a rendered message."""
    return OutboxEntry(
        tenant_id=message.tenant_id,
        environment=str(message.environment),
        channel=str(message.channel),
        destination=message.destination.value,
        subject=rendered.subject,
        body=rendered.text,
        created_at=message.now,
    )


class OutboxProvider:
    name = "outbox"
    channels = frozenset(Channel)

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    async def send(self, message: OutgoingMessage, rendered: Rendered) -> DeliveryResult:
        async with self.uow() as uow:
            message_id = await uow.outbox.add(entry_for(message, rendered))
            await uow.commit()
        return DeliveryResult(
            ok=True, provider=self.name, status_code=200, provider_message_id=message_id
        )
