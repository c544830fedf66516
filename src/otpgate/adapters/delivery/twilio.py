"""Twilio: SMS through the Messages API, voice through the Calls API with inline TwiML.

Wire format (what Twilio receives)::

    POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json   Basic auth SID:token
         form  To=+14155550100  From=+15005550006 (or MessagingServiceSid=MG…)  Body=…
    POST {base}/2010-04-01/Accounts/{AccountSid}/Calls.json
         form  To=…  From=…  Twiml=<Response><Pause/><Say language="en-US">…</Say>…</Response>

Twilio answers 201 with a JSON object whose ``sid`` names the message or the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from otpgate.adapters.delivery.base import (
    Parameter,
    ProviderError,
    Rendered,
    missing_parameters,
    reveal,
)
from otpgate.adapters.delivery.http import HttpProvider
from otpgate.core.model import Channel, DeliveryResult, OutgoingMessage

if TYPE_CHECKING:
    from otpgate.settings import Settings

DEFAULT_BASE_URL = "https://api.twilio.com"


def twiml(text: str, language: str | None) -> str:
    """Say ``text`` sentence by sentence with a pause between, after a pause to pick up."""
    lang = f" language={quoteattr(language)}" if language else ""
    sentences = [s.strip() for s in text.replace(". ", ".\n").splitlines() if s.strip()]
    says = '<Pause length="1"/>'.join(f"<Say{lang}>{escape(s)}</Say>" for s in sentences)
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="1"/>{says}</Response>'


class TwilioProvider(HttpProvider):
    name = "twilio"
    channels = frozenset({Channel.SMS, Channel.VOICE})

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(timeout=timeout)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sender = sender
        self.base_url = base_url.rstrip("/")

    @staticmethod
    def parameters() -> list[Parameter]:
        return [
            Parameter("twilio_account_sid", "the Account SID, AC…"),
            Parameter("twilio_auth_token", "the account's auth token", secret=True),
            Parameter("twilio_from", "a Twilio phone number in E.164, or a Messaging Service SID"),
            Parameter("twilio_base_url", f"default {DEFAULT_BASE_URL}", required=False),
        ]

    @classmethod
    def check_configuration(cls, settings: Settings) -> list[str]:
        problems = missing_parameters(settings, cls.parameters())
        sid = settings.twilio_account_sid
        if sid and not sid.startswith("AC"):
            problems.append("OTPGATE_TWILIO_ACCOUNT_SID should start with 'AC'")
        if not settings.twilio_base_url.startswith(("https://", "http://")):
            problems.append("OTPGATE_TWILIO_BASE_URL must be an http(s) URL")
        return problems

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioProvider:
        return cls(
            account_sid=settings.twilio_account_sid or "",
            auth_token=reveal(settings.twilio_auth_token),
            sender=settings.twilio_from or "",
            base_url=settings.twilio_base_url,
            timeout=settings.delivery_timeout_seconds,
        )

    def _url(self, resource: str) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/{resource}.json"

    async def send(self, message: OutgoingMessage, rendered: Rendered) -> DeliveryResult:
        form = {"To": message.destination.value}
        if message.channel is Channel.VOICE:
            if self.sender.startswith("MG"):
                raise ProviderError(
                    "twilio: calls need a phone number in OTPGATE_TWILIO_FROM", retryable=False
                )
            url = self._url("Calls")
            form |= {"From": self.sender, "Twiml": twiml(rendered.text, rendered.voice_language)}
        else:
            url = self._url("Messages")
            sender_field = "MessagingServiceSid" if self.sender.startswith("MG") else "From"
            form |= {sender_field: self.sender, "Body": rendered.text}
        response = await self.post(url, data=form, auth=(self.account_sid, self.auth_token))
        sid = self.json_object(response).get("sid")
        if not isinstance(sid, str) or not sid:
            raise ProviderError("twilio: the answer has no sid", retryable=False)
        return DeliveryResult(ok=True, provider=self.name, status_code=200, provider_message_id=sid)
