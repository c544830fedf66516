"""The courier: picks providers by environment and channel and reports the outcome.

Sandbox messages always go to the outbox. Production messages go through the
channel's ordered provider list; the first one that accepts the message wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from otpgate.core.model import Channel, DeliveryResult, Environment, OutgoingMessage
from otpgate.delivery.base import Provider, ProviderError
from otpgate.delivery.templates import Renderer


class Courier:
    def __init__(
        self,
        *,
        sandbox: Provider,
        production: Mapping[Channel, Sequence[Provider]],
        renderer: Renderer,
    ) -> None:
        self.sandbox = sandbox
        self.production = production
        self.renderer = renderer

    def providers_for(self, message: OutgoingMessage) -> Sequence[Provider]:
        if message.environment is Environment.SANDBOX:
            return [self.sandbox]
        return self.production.get(message.channel, ())

    async def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        providers = self.providers_for(message)
        if not providers:
            return DeliveryResult(
                ok=False,
                provider="none",
                status_code=503,
                error=f"no provider configured for {message.channel}",
            )
        rendered = self.renderer.render(message)
        last = DeliveryResult(ok=False, provider="none", status_code=503, error="not attempted")
        for provider in providers:
            try:
                result = await provider.send(message, rendered)
            except ProviderError as exc:
                result = DeliveryResult(
                    ok=False, provider=provider.name, status_code=exc.status_code, error=str(exc)
                )
            if result.ok:
                return result
            last = result
        return last
