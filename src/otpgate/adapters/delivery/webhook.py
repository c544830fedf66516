"""The generic webhook provider: a signed JSON POST to an operator's own gateway.

Any in-house SMS, voice or email gateway can carry otpgate's codes by accepting this
request. The schema (version 1)::

    POST <OTPGATE_WEBHOOK_URL>
    Content-Type: application/json
    Otpgate-Delivery-Id: <id>              same id on every retry of one delivery
    Otpgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

    {"version": 1, "id": "<id>", "created_at": <unix seconds>,
     "channel": "sms" | "voice" | "email", "to": "+14155550100" | "jane@example.com",
     "locale": "en", "voice_language": "en-US" | null,
     "subject": "…" | null, "text": "…", "html": "…" | null,
     "code": "482910", "expires_at": <unix seconds>,
     "tenant_id": "…", "session_id": "…"}

Answer 2xx (optionally ``{"message_id": "…"}``) once the message is on its way. A 5xx,
a timeout or a dropped connection is retried with backoff; a 4xx is not. The gateway
checks the signature with ``verify_signature`` (or the same few lines in its language):
recompute the HMAC over ``"<t>." + body`` with the shared secret, compare in constant
time, and refuse timestamps older than five minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from otpgate.adapters.delivery.base import Parameter, Rendered, missing_parameters, reveal
from otpgate.adapters.delivery.http import HttpProvider
from otpgate.core.model import Channel, DeliveryResult, OutgoingMessage

if TYPE_CHECKING:
    from otpgate.settings import Settings

SIGNATURE_HEADER = "Otpgate-Signature"
DELIVERY_ID_HEADER = "Otpgate-Delivery-Id"
SCHEMA_VERSION = 1
TOLERANCE_SECONDS = 300
MIN_SECRET_CHARS = 16


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Otpgate-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and is recent enough."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def delivery_id(message: OutgoingMessage) -> str:
    """Stable across the retries of one delivery, so a gateway can drop duplicates."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"otpgate:{message.session_id}:{message.now!r}"))


class WebhookProvider(HttpProvider):
    name = "webhook"
    channels = frozenset(Channel)

    def __init__(self, *, url: str, secret: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.url = url
        self.secret = secret

    @staticmethod
    def parameters() -> list[Parameter]:
        return [
            Parameter("webhook_url", "the gateway URL otpgate POSTs each message to"),
            Parameter("webhook_secret", "shared secret for the HMAC-SHA256 signature", secret=True),
        ]

    @classmethod
    def check_configuration(cls, settings: Settings) -> list[str]:
        problems = missing_parameters(settings, cls.parameters())
        url = settings.webhook_url
        if url and not url.startswith(("https://", "http://")):
            problems.append("OTPGATE_WEBHOOK_URL must be an http(s) URL")
        secret = reveal(settings.webhook_secret)
        if secret and len(secret) < MIN_SECRET_CHARS:
            problems.append(
                f"OTPGATE_WEBHOOK_SECRET must be at least {MIN_SECRET_CHARS} characters"
            )
        return problems

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookProvider:
        return cls(
            url=settings.webhook_url or "",
            secret=reveal(settings.webhook_secret),
            timeout=settings.delivery_timeout_seconds,
        )

    def payload(self, message: OutgoingMessage, rendered: Rendered, ident: str) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "id": ident,
            "created_at": int(message.now),
            "channel": str(message.channel),
            "to": message.destination.value,
            "locale": rendered.locale,
            "voice_language": rendered.voice_language,
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
            "code": message.code,
            "expires_at": int(message.expires_at),
            "tenant_id": message.tenant_id,
            "session_id": message.session_id,
        }

    async def send(self, message: OutgoingMessage, rendered: Rendered) -> DeliveryResult:
        ident = delivery_id(message)
        body = json.dumps(self.payload(message, rendered, ident), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            DELIVERY_ID_HEADER: ident,
            SIGNATURE_HEADER: sign(self.secret, body, int(time.time())),
        }
        response = await self.post(self.url, content=body, headers=headers)
        answer = self.json_object(response, empty_ok=True)
        message_id = answer.get("message_id")
        return DeliveryResult(
            ok=True,
            provider=self.name,
            status_code=200,
            provider_message_id=str(message_id) if message_id else ident,
        )
