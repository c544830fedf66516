"""The provider port: one object per way of carrying a message.

A provider class also describes and checks its own configuration: ``parameters()``
lists the settings it reads, ``check_configuration(settings)`` says in words what is
missing or wrong (without sending anything), and ``from_settings(settings)`` builds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from otpgate.core.model import Channel, DeliveryResult, OutgoingMessage

if TYPE_CHECKING:
    from otpgate.settings import Settings

ERROR_MAX_CHARS = 240


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message's text for one channel. Holds the code: never persist or log it."""

    text: str
    subject: str | None = None
    html: str | None = None
    locale: str | None = None
    voice_language: str | None = None


class Provider(Protocol):
    name: str
    channels: frozenset[Channel]

    async def send(self, message: OutgoingMessage, rendered: Rendered) -> DeliveryResult: ...


class ProviderError(Exception):
    """A provider failed to hand the message on. ``retryable`` says whether trying again helps.

    The message is shown to API clients and written to the audit trail: it must name
    the failure, never the destination, the code or the message body.
    """

    def __init__(self, message: str, *, status_code: int = 502, retryable: bool = True) -> None:
        super().__init__(message[:ERROR_MAX_CHARS])
        self.status_code = status_code
        self.retryable = retryable


class ConfigurationError(ValueError):
    """Providers named in the settings cannot be built; ``problems`` says why, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Parameter:
    """One setting a provider reads."""

    setting: str
    description: str
    required: bool = True
    secret: bool = False

    @property
    def env(self) -> str:
        return "OTPGATE_" + self.setting.upper()


def missing_parameters(settings: Settings, parameters: Sequence[Parameter]) -> list[str]:
    """``OTPGATE_X is not set (what it is)`` for each required setting left empty."""
    problems = []
    for p in parameters:
        value = getattr(settings, p.setting)
        if p.required and (value is None or str(value) == "" or _empty_secret(value)):
            problems.append(f"{p.env} is not set ({p.description})")
    return problems


def _empty_secret(value: object) -> bool:
    reveal = getattr(value, "get_secret_value", None)
    return callable(reveal) and not reveal()


def reveal(value: object) -> str:
    """The plain text of a setting that may be a ``SecretStr``."""
    if value is None:
        return ""
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if callable(getter) else str(value)
