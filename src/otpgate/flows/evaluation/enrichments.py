"""The ``data_enrichments`` entries an evaluation accumulates, in the guide's shape.

Destinations are masked and submitted codes are never recorded: ``request.otp``
holds a mask of the right length.
"""

from __future__ import annotations

from typing import TypedDict

from otpgate.core.model import Channel, DeliveryResult
from otpgate.core.session import VerificationSession

PROVIDER_LABEL = "otpgate"
_CHANNEL_LABEL = {Channel.SMS: "SMS", Channel.VOICE: "Voice", Channel.EMAIL: "Email"}


class Enrichment(TypedDict):
    """One entry of ``data_enrichments``, as stored and answered."""

    enrichment_name: str
    enrichment_endpoint: str
    enrichment_provider: str
    status_code: int
    request: dict[str, str]
    response: dict[str, str | int]
    is_source_cache: bool


def delivery(session: VerificationSession, result: DeliveryResult) -> Enrichment:
    status_code = result.status_code if result.ok else max(400, result.status_code)
    response: dict[str, str | int] = {"verificationId": session.id}
    if result.provider_message_id:
        response["providerMessageId"] = result.provider_message_id
    if not result.ok:
        response["error"] = result.error or "delivery failed"
    return {
        "enrichment_name": f"Deliver OTP {_CHANNEL_LABEL[session.channel]}",
        "enrichment_endpoint": f"/internal/otp/{result.provider}/send",
        "enrichment_provider": result.provider,
        "status_code": status_code,
        "request": {"destination": session.destination.masked(), "channel": str(session.channel)},
        "response": response,
        "is_source_cache": False,
    }


def verification(session: VerificationSession, status: str, code_length: int) -> Enrichment:
    return {
        "enrichment_name": f"Verify OTP {_CHANNEL_LABEL[session.channel]}",
        "enrichment_endpoint": "/internal/otp/verify",
        "enrichment_provider": PROVIDER_LABEL,
        "status_code": 200,
        "request": {"otp": "*" * code_length, "verificationId": session.id},
        "response": {
            "attemptCount": session.attempts,
            "status": status,
            "verificationId": session.id,
            "sessionId": session.id,  # the product overview's name for the same session
        },
        "is_source_cache": False,
    }
