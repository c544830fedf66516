"""Outgoing messages for delivery tests."""

from __future__ import annotations

import time

from otpgate.core.model import Channel, Destination, DestinationKind, Environment, OutgoingMessage

PHONE_US = Destination(DestinationKind.PHONE, "+14155550100", "US", "mobile", "1")
EMAIL = Destination(DestinationKind.EMAIL, "jane@example.com")


def phone(country: str | None = "US", value: str = "+14155550100") -> Destination:
    return Destination(DestinationKind.PHONE, value, country, "mobile", "1")


def outgoing(
    channel: Channel = Channel.SMS,
    destination: Destination | None = None,
    *,
    code: str = "482910",
    locale: str | None = None,
    default_locale: str | None = None,
    brand: str | None = "Acme",
    message_template: str | None = None,
    environment: Environment = Environment.PRODUCTION,
    minutes: int = 10,
) -> OutgoingMessage:
    if destination is None:
        destination = EMAIL if channel is Channel.EMAIL else PHONE_US
    now = time.time()
    return OutgoingMessage(
        tenant_id="tenant-1",
        session_id="session-1",
        environment=environment,
        channel=channel,
        destination=destination,
        code=code,
        expires_at=now + minutes * 60,
        now=now,
        locale=locale,
        brand=brand,
        default_locale=default_locale,
        message_template=message_template,
    )
