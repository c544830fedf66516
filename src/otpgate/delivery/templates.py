"""Message text for each channel. Templates are set on the account side, never per request."""

from __future__ import annotations

from otpgate.core.model import Channel, OutgoingMessage
from otpgate.delivery.base import Rendered

DEFAULT_BRAND = "otpgate"


def spoken_digits(code: str) -> str:
    return ", ".join(code)


class Renderer:
    """English defaults; the SMS fits one GSM-7 segment."""

    def render(self, message: OutgoingMessage) -> Rendered:
        brand = message.brand or DEFAULT_BRAND
        minutes = message.minutes_left
        if message.message_template is not None:
            return Rendered(text=message.message_template.replace("{pin}", message.code))
        if message.channel is Channel.SMS:
            return Rendered(
                text=f"{message.code} is your {brand} verification code. "
                f"It expires in {minutes} min. Never share it."
            )
        if message.channel is Channel.VOICE:
            digits = spoken_digits(message.code)
            return Rendered(text=f"Your {brand} verification code is {digits}. Again: {digits}.")
        return Rendered(
            subject=f"Your {brand} verification code",
            text=(
                f"Your {brand} verification code is {message.code}.\n\n"
                f"It expires in {minutes} minutes. If you did not ask for it, ignore this email."
            ),
        )
