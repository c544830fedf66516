"""Vonage (Nexmo) SMS API.

Wire format::

    POST {base}/sms/json   form  api_key, api_secret, from, to (E.164 without "+"), text,
                                 type ("text" for GSM-7, "unicode" otherwise)

Vonage answers HTTP 200 even when it refuses a message: each entry of ``messages`` has a
``status`` ("0" is success, "1" is throttling) and a ``message-id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otpgate.adapters.delivery.base import (
    Parameter,
    ProviderError,
    Rendered,
    missing_parameters,
    reveal,
)
from otpgate.adapters.delivery.gsm import is_gsm7
from otpgate.adapters.delivery.http import HttpProvider
from otpgate.core.model import Channel, DeliveryResult, OutgoingMessage
from otpgate.observability import redact_text

if TYPE_CHECKING:
    from otpgate.settings import Settings

DEFAULT_BASE_URL = "https://rest.nexmo.com"
THROTTLED = "1"


class VonageProvider(HttpProvider):
    name = "vonage"
    channels = frozenset({Channel.SMS})

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        sender: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(timeout=timeout)
        self.api_key = api_key
        self.api_secret = api_secret
        self.sender = sender
        self.base_url = base_url.rstrip("/")

    @staticmethod
    def parameters() -> list[Parameter]:
        return [
            Parameter("vonage_api_key", "the account's API key"),
            Parameter("vonage_api_secret", "the account's API secret", secret=True),
            Parameter("vonage_from", "a sender number or alphanumeric sender id"),
            Parameter("vonage_base_url", f"default {DEFAULT_BASE_URL}", required=False),
        ]

    @classmethod
    def check_configuration(cls, settings: Settings) -> list[str]:
        problems = missing_parameters(settings, cls.parameters())
        if not settings.vonage_base_url.startswith(("https://", "http://")):
            problems.append("OTPGATE_VONAGE_BASE_URL must be an http(s) URL")
        return problems

    @classmethod
    def from_settings(cls, settings: Settings) -> VonageProvider:
        return cls(
            api_key=settings.vonage_api_key or "",
            api_secret=reveal(settings.vonage_api_secret),
            sender=settings.vonage_from or "",
            base_url=settings.vonage_base_url,
            timeout=settings.delivery_timeout_seconds,
        )

    async def send(self, message: OutgoingMessage, rendered: Rendered) -> DeliveryResult:
        form = {
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "from": self.sender,
            "to": message.destination.value.lstrip("+"),
            "text": rendered.text,
            "type": "text" if is_gsm7(rendered.text) else "unicode",
        }
        response = await self.post(f"{self.base_url}/sms/json", data=form)
        entries = self.json_object(response).get("messages")
        if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
            raise ProviderError("vonage: the answer lists no messages", retryable=False)
        first: dict[str, Any] = entries[0]
        status = str(first.get("status", ""))
        if status != "0":
            reason = redact_text(str(first.get("error-text") or "refused"))[:120]
            if status == THROTTLED:
                raise ProviderError(f"vonage: status 1, {reason}", status_code=429)
            raise ProviderError(
                f"vonage: status {status}, {reason}", status_code=400, retryable=False
            )
        return DeliveryResult(
            ok=True,
            provider=self.name,
            status_code=200,
            provider_message_id=str(first.get("message-id") or "") or None,
        )
