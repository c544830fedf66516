"""Sponsors, beneficiaries, otp ids and verification tokens, with the checks on their names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from otpgate.core.errors import InvalidInput
from otpgate.core.model import Channel, Destination, Environment, RateDecision

SPONSOR_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL})
OTP_ID_PREFIX = "otp_"
TOKEN_PREFIX = "otvt_"  # noqa: S105 (a public prefix, not a secret)

# The names' shapes; the web layer states the same ones in the OpenAPI document.
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
OPERATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,119}")
ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
"""A ULID as otp ids and verification tokens carry it (Crockford base32, 26 characters)."""
TOKEN_BODY = re.compile(r"[0-9A-Za-z]{40,120}")


@dataclass(frozen=True, slots=True)
class SponsorPolicy:
    """The sponsor API's own numbers (the seed document's defaults)."""

    otp_ttl_seconds: int = 300
    max_attempts: int = 3
    token_ttl_seconds: int = 600
    sends_per_hour: int = 5
    client_requests_per_minute: int = 50


@dataclass(slots=True)
class ClientBudget:
    """One request's charge against its client's ``client_requests_per_minute``.

    Counted once per request: by the outside limiter before anything else (``decision``),
    or else inside the request's own unit of work, which sets ``charged`` when it commits.
    A request whose unit of work rolled back, or never opened (bad input), is charged
    afterwards in a short one of its own (:meth:`SponsorService.settle`).
    """

    key_id: str
    decision: RateDecision | None = None
    charged: bool = False


@dataclass(frozen=True, slots=True)
class Sponsor:
    id: str
    tenant_id: str
    environment: str
    """The environment of the keys that manage and use it: each has its own sponsors."""
    slug: str
    name: str
    channels: tuple[Channel, ...]
    otp_operations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Product type → the operations that need an OTP for it."""
    active: bool = True

    def supports(self, channel: Channel) -> bool:
        return channel in self.channels

    def requires_otp(self, operation: str, product_type: str | None = None) -> bool:
        if product_type is not None:
            return operation in self.otp_operations.get(product_type, ())
        return any(operation in ops for ops in self.otp_operations.values())


@dataclass(frozen=True, slots=True)
class Beneficiary:
    tenant_id: str
    environment: str
    sponsor_id: str
    beneficiary_id: str
    phone: Destination | None = None
    email: Destination | None = None

    def destination_for(self, channel: Channel) -> Destination | None:
        return self.email if channel is Channel.EMAIL else self.phone


@dataclass(frozen=True, slots=True)
class SponsorOtp:
    """One ``otp_id`` handed to a client, and the core session behind it."""

    id: str
    tenant_id: str
    environment: str
    sponsor_id: str
    beneficiary_id: str
    session_id: str
    channel: Channel
    created_at: float


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A verification token as stored: only its hash, never the token."""

    token_hash: str
    otp_id: str
    tenant_id: str
    environment: str
    sponsor_id: str
    beneficiary_id: str
    channel: Channel
    created_at: float
    expires_at: float
    redeemed_at: float | None = None
    operation: str | None = None


def check_slug(raw: str, field_name: str = "sponsor_slug") -> str:
    if not SLUG.fullmatch(raw):
        raise InvalidInput(
            field_name, f"{field_name} must be 1-64 lowercase letters, digits and hyphens"
        )
    return raw


def check_identifier(raw: str, field_name: str) -> str:
    if not IDENTIFIER.fullmatch(raw):
        raise InvalidInput(
            field_name, f"{field_name} must be 1-64 letters, digits, '_', '.', ':' or '-'"
        )
    return raw


def check_operation(raw: str, field_name: str = "operation") -> str:
    if not OPERATION.fullmatch(raw):
        raise InvalidInput(
            field_name, f"{field_name} must be 1-120 letters, digits, '_', '.', ':' or '-'"
        )
    return raw


def check_otp_id(raw: str) -> str:
    body = raw.removeprefix(OTP_ID_PREFIX)
    if body == raw or not ULID.fullmatch(body):
        raise InvalidInput("otp_id", "otp_id must look like otp_ followed by a 26-character ULID")
    return raw


def check_token(raw: str) -> str:
    body = raw.removeprefix(TOKEN_PREFIX)
    if body == raw or not TOKEN_BODY.fullmatch(body):
        raise InvalidInput("token", "token must be an otvt_ verification token")
    return raw


def check_channels(channels: Sequence[Channel]) -> tuple[Channel, ...]:
    unique = tuple(dict.fromkeys(channels))
    if not unique:
        raise InvalidInput("channels", "a sponsor needs at least one channel")
    unsupported = [c for c in unique if c not in SPONSOR_CHANNELS]
    if unsupported:
        raise InvalidInput("channels", "a sponsor's channels are SMS and EMAIL")
    return unique


def check_operations(raw: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    checked: dict[str, tuple[str, ...]] = {}
    for product_type, operations in raw.items():
        check_identifier(product_type, "otp_operations")
        checked[product_type] = tuple(
            dict.fromkeys(check_operation(op, "otp_operations") for op in operations)
        )
    return checked


@dataclass(frozen=True, slots=True)
class AccessToken:
    access_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """Who an access token speaks for: one API key of one tenant."""

    key_id: str
    tenant_id: str
    environment: Environment
    expires_at: float
