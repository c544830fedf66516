"""The sponsor API's channel names (``SMS``, ``EMAIL``), read the same way everywhere.

The admin API and the CLI configure a sponsor's channels (``SMS`` by default); a send
names one. A send without a channel is malformed (400 ``071-201``); one that no sponsor
of otpgate offers (``VOICE``, ``WHATSAPP``) is unsupported (422), as the seed document
answers a channel the sponsor lacks.
"""

from __future__ import annotations

from collections.abc import Sequence

from otpgate.core.errors import InvalidInput
from otpgate.core.model import Channel
from otpgate.flows.sponsor.errors import ChannelUnavailable

CHANNEL_NAMES: dict[str, Channel] = {"SMS": Channel.SMS, "EMAIL": Channel.EMAIL}
DEFAULT_CHANNELS = ("SMS",)
"""A sponsor configured without channels sends by SMS."""


def channel_named(raw: str) -> Channel | None:
    """The channel ``raw`` names (any case, spaces around ignored), if a sponsor can have it."""
    return CHANNEL_NAMES.get(raw.strip().upper())


def sponsor_channels(names: Sequence[str]) -> list[Channel]:
    """A sponsor's configured channels; ``InvalidInput`` (``channels``) for any other name."""
    channels = []
    for raw in names:
        channel = channel_named(raw)
        if channel is None:
            raise InvalidInput("channels", "channels must be SMS and/or EMAIL")
        channels.append(channel)
    return channels


def send_channel(raw: str) -> Channel:
    """The channel a send asks for."""
    name = raw.strip().upper()
    if not name:
        raise InvalidInput("channel", "malformed request: channel is required")
    channel = CHANNEL_NAMES.get(name)
    if channel is None:
        raise ChannelUnavailable(f"channel {name[:16]!r} is not supported: use SMS or EMAIL")
    return channel
