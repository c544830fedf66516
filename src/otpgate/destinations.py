"""Turning what people type into validated ``Destination`` values.

Phone numbers go through ``phonenumbers``: E.164 out, hyphens, spaces, dots
and brackets tolerated in, country and line type read off the number.
Emails go through ``email-validator`` (syntax per RFC 5322, no DNS lookups).
"""

from __future__ import annotations

import email_validator
import phonenumbers
from phonenumbers import PhoneNumberType

from otpgate.core.errors import InvalidInput
from otpgate.core.guard_types import GUARD_REFUSED_PHONE
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

# Reserved in the sandbox: +11234567890 forces a delivery failure, GUARD_REFUSED_PHONE
# (+11234567899) is always refused by the abuse guard. Neither is a real, valid number.
SANDBOX_MAGIC_NUMBERS = frozenset({"+11234567890", GUARD_REFUSED_PHONE})


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
    if allow_magic and cleaned.replace("-", "").replace(" ", "") in SANDBOX_MAGIC_NUMBERS:
        value = cleaned.replace("-", "").replace(" ", "")
        return Destination(DestinationKind.PHONE, value, "US", "unknown", "1")
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
