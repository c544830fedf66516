"""A scripted provider for tests of failover and retries (shipped like httpx's MockTransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from otpgate.adapters.delivery.base import ProviderError, Rendered
from otpgate.core.model import Channel, DeliveryResult, OutgoingMessage

Step = ProviderError | Exception | float | None
"""``None`` accepts the message, an exception is raised, a float hangs that many seconds."""


@dataclass
class ScriptedProvider:
    name: str
    script: list[Step] = field(default_factory=list)
    channels: frozenset[Channel] = frozenset(Channel)
    sent: list[Rendered] = field(default_factory=list)
    calls: int = 0

    @classmethod
    def failing(cls, name: str, error: ProviderError, times: int = 100) -> ScriptedProvider:
        return cls(name, [error] * times)

    def then(self, steps: Iterable[Step]) -> ScriptedProvider:
        self.script.extend(steps)
        return self

    async def send(self, message: OutgoingMessage, rendered: Rendered) -> DeliveryResult:
        self.calls += 1
        step = self.script.pop(0) if self.script else None
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, float):
            await asyncio.sleep(step)
        self.sent.append(rendered)
        return DeliveryResult(
            ok=True, provider=self.name, status_code=200, provider_message_id=f"{self.name}-1"
        )
