"""The PhoneMatch gateway's out-of-band rules: message templates, line types, countries.

Pure functions over core values (standard library only), so that the API package
only translates and the rules are testable without I/O:

- ``OutOfBandOptions.checked`` validates what a caller asked for (``InvalidInput``
  naming the field when it is malformed).
- ``personalise`` fills ``{fn}`` and ``{ln}`` and leaves ``{pin}`` to the renderer.
- ``screen`` decides whether a parsed phone number may receive a code:
  a country outside the caller's lists fails the data check, an excluded line type
  suppresses the send.

Line types come from ``phonenumbers``, which cannot tell mobile from landline for
most North American numbers (``fixed_or_mobile``). Such a number counts as excluded
only when *both* ``mobile`` and ``landline`` are excluded: a single excluded type is
not "detected" on it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from otpgate.core.errors import InvalidInput
from otpgate.core.model import Destination

FIELD = "options.outofband"
LINE_TYPES = ("mobile", "landline", "voip")
PLACEHOLDERS = frozenset({"fn", "ln", "pin"})
MAX_MESSAGE = 480
MAX_NAME = 100
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ISO2 = re.compile(r"[A-Z]{2}")

# phonenumbers' ambiguous type → the types it may be; excluded only if all are.
_MAY_BE: dict[str, frozenset[str]] = {
    "mobile": frozenset({"mobile"}),
    "landline": frozenset({"landline"}),
    "voip": frozenset({"voip"}),
    "fixed_or_mobile": frozenset({"mobile", "landline"}),
}


class Screening(enum.StrEnum):
    ALLOWED = "allowed"
    SUPPRESSED = "suppressed"
    COUNTRY_REFUSED = "country_refused"


@dataclass(frozen=True, slots=True)
class ScreenResult:
    outcome: Screening
    reason: str | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is Screening.ALLOWED


@dataclass(frozen=True, slots=True)
class OutOfBandOptions:
    message: str | None = None
    excluded_line_types: frozenset[str] = frozenset()
    blacklist: frozenset[str] = frozenset()
    whitelist: frozenset[str] = frozenset()

    @classmethod
    def checked(
        cls,
        *,
        message: str | None = None,
        excluded_line_types: tuple[str, ...] = (),
        blacklist: tuple[str, ...] = (),
        whitelist: tuple[str, ...] = (),
    ) -> OutOfBandOptions:
        if message is not None:
            check_template(message)
        return cls(
            message=message,
            excluded_line_types=_line_types(excluded_line_types),
            blacklist=_countries(blacklist, f"{FIELD}.country.blacklist"),
            whitelist=_countries(whitelist, f"{FIELD}.country.whitelist"),
        )


def check_template(message: str) -> None:
    field = f"{FIELD}.message"
    if not message.strip():
        raise InvalidInput(field, f"{field} must not be empty")
    if len(message) > MAX_MESSAGE:
        raise InvalidInput(field, f"{field} is longer than {MAX_MESSAGE} characters")
    names = _PLACEHOLDER.findall(message)
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        listed = ", ".join("{" + n + "}" for n in unknown)
        raise InvalidInput(
            field, f"{field} has unknown placeholder(s) {listed}; use {{fn}}, {{ln}}, {{pin}}"
        )
    if "pin" not in names:
        raise InvalidInput(field, f"{field} must contain {{pin}} where the code goes")
    if any(c in _PLACEHOLDER.sub("", message) for c in "{}"):
        raise InvalidInput(field, f"{field} has an unmatched brace")


def personalise(message: str, fn: str | None, ln: str | None) -> str:
    """Fill ``{fn}``/``{ln}``; ``{pin}`` stays for the renderer. Braces in names are dropped."""
    for name, value in (("fn", fn), ("ln", ln)):
        token = "{" + name + "}"
        if token not in message:
            continue
        if value is None or not value.strip():
            raise InvalidInput(
                f"target.{name}", f"the message uses {token} but target.{name} is empty"
            )
        if len(value) > MAX_NAME:
            raise InvalidInput(f"target.{name}", f"target.{name} is too long")
        message = message.replace(token, value.strip().replace("{", "").replace("}", ""))
    return message


def screen(destination: Destination, options: OutOfBandOptions) -> ScreenResult:
    country = destination.country or ""
    if country in options.blacklist:
        return ScreenResult(Screening.COUNTRY_REFUSED, f"numbers in {country} are blacklisted")
    if options.whitelist and country not in options.whitelist:
        return ScreenResult(Screening.COUNTRY_REFUSED, f"numbers in {country} are not whitelisted")
    may_be = _MAY_BE.get(destination.line_type or "", frozenset())
    if may_be and may_be <= options.excluded_line_types:
        return ScreenResult(
            Screening.SUPPRESSED, f"line type {destination.line_type} is in do_not_send_to_types"
        )
    return ScreenResult(Screening.ALLOWED)


def _line_types(raw: tuple[str, ...]) -> frozenset[str]:
    field = f"{FIELD}.do_not_send_to_types"
    wanted = {t.strip().lower() for t in raw}
    unknown = sorted(wanted - set(LINE_TYPES))
    if unknown:
        raise InvalidInput(
            field,
            f"{field} has unknown line type(s) {', '.join(map(repr, unknown))}; "
            f"use {', '.join(LINE_TYPES)}",
        )
    return frozenset(wanted)


def _countries(raw: tuple[str, ...], field: str) -> frozenset[str]:
    codes = {c.strip().upper() for c in raw}
    bad = sorted(c for c in codes if not _ISO2.fullmatch(c))
    if bad:
        got = ", ".join(repr(c[:20]) for c in bad[:5])
        raise InvalidInput(field, f"{field} must hold ISO 3166-1 alpha-2 codes; got {got}")
    return frozenset(codes)
