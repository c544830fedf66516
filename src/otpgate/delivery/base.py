"""The provider port: one object per way of carrying a message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from otpgate.core.model import Channel, DeliveryResult, OutgoingMessage


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message's text for one channel. Holds the code: never persist or log it."""

    text: str
    subject: str | None = None
    html: str | None = None


class Provider(Protocol):
    name: str
    channels: frozenset[Channel]

    async def send(self, message: OutgoingMessage, rendered: Rendered) -> DeliveryResult: ...


class ProviderError(Exception):
    """A provider failed to hand the message on. ``retryable`` says whether trying again helps."""

    def __init__(self, message: str, *, status_code: int = 502, retryable: bool = True) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable
