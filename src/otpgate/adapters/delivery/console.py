"""The console provider: prints messages to standard error, for local development."""

from __future__ import annotations

import sys
import uuid

from otpgate.adapters.delivery.base import Rendered
from otpgate.core.model import Channel, DeliveryResult, OutgoingMessage


class ConsoleProvider:
    name = "console"
    channels = frozenset(Channel)

    async def send(self, message: OutgoingMessage, rendered: Rendered) -> DeliveryResult:
        print(
            f"[otpgate console] {message.channel} to {message.destination.value}: {rendered.text}",
            file=sys.stderr,
            flush=True,
        )
        return DeliveryResult(
            ok=True, provider=self.name, status_code=200, provider_message_id=str(uuid.uuid4())
        )
