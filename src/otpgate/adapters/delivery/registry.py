"""Provider names as operators write them, and how each is built and checked.

``OTPGATE_SMS_PROVIDERS=twilio,webhook`` and friends name providers in order; this module
turns the names into objects (``build_routes``) and says, without sending anything,
whether the settings are enough for each (``check``; the ``otpgate providers check``
command prints it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from otpgate.adapters.delivery.base import ConfigurationError, Parameter, Provider
from otpgate.adapters.delivery.catalog import TemplateError, load_book
from otpgate.adapters.delivery.smtp import SmtpProvider
from otpgate.adapters.delivery.twilio import TwilioProvider
from otpgate.adapters.delivery.vonage import VonageProvider
from otpgate.adapters.delivery.webhook import WebhookProvider
from otpgate.core.model import Channel

if TYPE_CHECKING:
    from otpgate.settings import Settings


class ProviderKind(Protocol):
    name: str
    channels: frozenset[Channel]

    def parameters(self) -> list[Parameter]: ...
    def check_configuration(self, settings: Settings) -> list[str]: ...
    def from_settings(self, settings: Settings) -> Provider: ...


CONFIGURED: dict[str, ProviderKind] = {
    "smtp": SmtpProvider,
    "twilio": TwilioProvider,
    "vonage": VonageProvider,
    "webhook": WebhookProvider,
}
BUILTIN = ("outbox", "console")
SETTING_FOR = {
    Channel.SMS: "sms_providers",
    Channel.VOICE: "voice_providers",
    Channel.EMAIL: "email_providers",
}


@dataclass
class ProviderCheck:
    channel: Channel
    provider: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class CheckReport:
    checks: list[ProviderCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Problems not tied to one provider (templates file, empty lists)."""
    notes: list[str] = field(default_factory=list)
    """What is so by choice, not a fault (a channel with no production provider)."""

    @property
    def ok(self) -> bool:
        return not self.problems and all(c.ok for c in self.checks)

    def all_problems(self) -> list[str]:
        return [*self.problems, *(p for c in self.checks for p in c.problems)]


OUTBOX = "outbox"


def routes(settings: Settings) -> dict[Channel, list[str]]:
    """The production provider names per channel. The outbox keeps what it carries
    readable by every production key, so it is on these lists only with
    ``OTPGATE_PRODUCTION_OUTBOX=true``; without it a channel whose list names only the
    outbox has no provider, and its production sends fail as undelivered."""
    from otpgate.settings import Settings as _Settings

    out: dict[Channel, list[str]] = {}
    for ch, name in SETTING_FOR.items():
        names = _Settings.provider_list(getattr(settings, name))
        out[ch] = names if settings.production_outbox else [n for n in names if n != OUTBOX]
    return out


def check(settings: Settings) -> CheckReport:
    report = CheckReport()
    for channel, names in routes(settings).items():
        env = "OTPGATE_" + SETTING_FOR[channel].upper()
        if not names:
            if OUTBOX in settings.provider_list(getattr(settings, SETTING_FOR[channel])):
                report.notes.append(
                    f"production {channel} messages have no provider: {env} names only the"
                    " outbox, which carries them only with OTPGATE_PRODUCTION_OUTBOX=true"
                    " (sandbox messages go to the outbox)"
                )
            else:
                report.problems.append(f"{env} is empty: {channel} messages cannot be delivered")
        elif not settings.production_outbox and OUTBOX in settings.provider_list(
            getattr(settings, SETTING_FOR[channel])
        ):
            report.notes.append(
                f"{env}: the outbox is left out of the production {channel} providers"
                " (OTPGATE_PRODUCTION_OUTBOX is off)"
            )
        for name in names:
            item = ProviderCheck(channel, name)
            kind = CONFIGURED.get(name)
            if kind is None and name not in BUILTIN:
                known = ", ".join([*BUILTIN, *CONFIGURED])
                item.problems.append(f"{env}: unknown provider {name!r} (known: {known})")
            elif kind is not None:
                if channel not in kind.channels:
                    item.problems.append(f"{env}: {name} cannot carry {channel}")
                item.problems.extend(kind.check_configuration(settings))
            report.checks.append(item)
    try:
        load_book(settings.templates_file)
    except TemplateError as exc:
        report.problems.append(str(exc))
    return report


def build_routes(
    settings: Settings, builtin: Callable[[str], Provider]
) -> dict[Channel, list[Provider]]:
    """One provider object per name (shared across channels); ``ConfigurationError`` names
    every problem when the settings are not enough."""
    report = check(settings)
    problems = [p for c in report.checks for p in c.problems]
    if problems:
        raise ConfigurationError(list(dict.fromkeys(problems)))
    made: dict[str, Provider] = {}
    out: dict[Channel, list[Provider]] = {}
    for channel, names in routes(settings).items():
        for name in names:
            if name not in made:
                kind = CONFIGURED.get(name)
                made[name] = kind.from_settings(settings) if kind else builtin(name)
        out[channel] = [made[n] for n in names]
    return out
