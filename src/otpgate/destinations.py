"""Turning what people type into validated ``Destination`` values: the one parser.

Phone numbers go through ``phonenumbers``: E.164 out, hyphens, spaces, dots
and brackets tolerated in, country and line type read off the number.
Emails go through ``email-validator`` (syntax per RFC 5322, no DNS lookups).
The sandbox's magic numbers (``core/sandbox.py``) are not valid numbers: they pass only
where the caller allows them (``allow_magic``).

Front-ends call :func:`parse_contact` (a phone and an email, each optional, named as
their API names the fields) or :func:`outbox_destination` (one typed address, to look
up); the PhoneMatch flow calls :func:`parse_phone` and :func:`parse_email` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import email_validator
import phonenumbers
from phonenumbers import PhoneNumberType

from otpgate.core import sandbox
from otpgate.core.errors import InvalidInput
from otpgate.core.model import Destination, DestinationKind

MAX_INPUT = 320

LINE_TYPES: dict[int, str] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


def parse_phone(
    raw: object,
    field: str = "phone_number",
    default_region: str | None = None,
    allow_magic: bool = True,
) -> Destination:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput(field, f"{field} must be a non-empty string")
    if len(raw) > 40:
        raise InvalidInput(field, f"{field} is too long")
    cleaned = raw.strip()
    magic = sandbox.magic_destination(cleaned) if allow_magic else None
    if magic is not None:
        return magic
    try:
        number = phonenumbers.parse(cleaned, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(field, f"{field} is not a phone number in E.164 format") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(field, f"{field} is not a valid phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_number(number)
    line_type = LINE_TYPES.get(phonenumbers.number_type(number), "unknown")
    return Destination(DestinationKind.PHONE, e164, region, line_type, str(number.country_code))


def parse_email(raw: object, field: str = "email") -> Destination:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput(field, f"{field} must be a non-empty string")
    if len(raw) > MAX_INPUT:
        raise InvalidInput(field, f"{field} is too long")
    try:
        info = email_validator.validate_email(raw.strip(), check_deliverability=False, strict=True)
    except email_validator.EmailNotValidError as exc:
        raise InvalidInput(field, f"{field} is not a valid email address") from exc
    return Destination(DestinationKind.EMAIL, info.normalized)


@dataclass(frozen=True, slots=True)
class Contact:
    """A phone and an email as a request gave them, parsed; either may be absent."""

    phone: Destination | None = None
    email: Destination | None = None


def parse_contact(
    phone: object | None,
    email: object | None,
    *,
    phone_field: str = "phone_number",
    email_field: str = "email",
    allow_magic: bool = True,
) -> Contact:
    """Parse what was given (``None`` is absent); errors name ``phone_field`` or
    ``email_field``."""
    return Contact(
        phone=parse_phone(phone, phone_field, allow_magic=allow_magic)
        if phone is not None
        else None,
        email=parse_email(email, email_field) if email is not None else None,
    )


def outbox_destination(raw: str) -> str:
    """An address as people type it, as the outbox stores it (to look it up): an email
    normalised, a phone number in E.164, anything else as typed."""
    if "@" in raw:
        return parse_email(raw, "destination").value
    try:
        return parse_phone(raw, "destination").value
    except InvalidInput:
        return raw.strip()
