"""The canonical form of a destination: the one key every limit, lockout and budget counts.

People (and attackers) can write one mailbox many ways: ``VICTIM@EXAMPLE.COM``,
``Victim@example.com``, ``victim+x@example.com``, a fullwidth ``\\uff56ictim@example.com``,
and, at providers that ignore dots, ``vic.tim@gmail.com``. Each reaches the same inbox,
so each must hit the same counters. The canonical form is only a key: the message still
goes to the address as the caller gave it.

Emails: Unicode NFKC (fullwidth and compatibility characters fold to their plain
forms), case-folded, the plus-tag (``+`` and what follows it in the local part)
removed, and dots removed from the local part at the providers in
:data:`DOTLESS_DOMAINS`; ``googlemail.com`` is the same mailbox as ``gmail.com``
(:data:`DOMAIN_ALIASES`). Folding the case of the local part is stricter than RFC 5321
allows in theory; no mail provider people sign up with treats case as significant.

Phones arrive as E.164 already (``otpgate.destinations`` parses them with
``phonenumbers``); their canonical form is that E.164 string, stripped of anything but
the leading ``+`` and digits.

The functions are idempotent: ``canonical_email(canonical_email(a)) ==
canonical_email(a)`` (a property test checks it).
"""

from __future__ import annotations

import unicodedata

from otpgate.core.model import Destination, DestinationKind

# Mail providers known to ignore dots in the local part of their addresses.
DOTLESS_DOMAINS: frozenset[str] = frozenset({"gmail.com", "googlemail.com"})

# Domains that are another name for the same mailboxes.
DOMAIN_ALIASES: dict[str, str] = {"googlemail.com": "gmail.com"}

# Digits dropped from the end of an E.164 number to name its prefix (its range).
PREFIX_TRIM = 4


def _fold(text: str) -> str:
    """NFKC, case-folded, and NFKC again until stable (case folding can denormalise)."""
    folded = unicodedata.normalize("NFKC", text)
    for _ in range(4):
        again = unicodedata.normalize("NFKC", folded.casefold())
        if again == folded:
            break
        folded = again
    return folded


def canonical_email(address: str) -> str:
    """The key of an email address; see the module docstring for the rules."""
    folded = _fold(address).strip()
    local, at, domain = folded.rpartition("@")
    if not at:
        return folded
    domain = domain.rstrip(".")
    domain = DOMAIN_ALIASES.get(domain, domain)
    untagged = local.split("+", 1)[0] or local
    if domain in DOTLESS_DOMAINS:
        untagged = untagged.replace(".", "") or untagged
    return f"{untagged}@{domain}"


def canonical_phone(e164: str) -> str:
    """The key of a phone number: ``+`` and its digits (E.164 already, from destinations)."""
    digits = "".join(ch for ch in e164 if ch.isdigit() and ch.isascii())
    return f"+{digits}"


def canonical_destination(destination: Destination) -> str:
    """The key of a destination: never confuses a phone (``+…``) with an email (``…@…``)."""
    if destination.kind is DestinationKind.EMAIL:
        return canonical_email(destination.value)
    return canonical_phone(destination.value)


def phone_prefix(e164: str) -> str:
    """The number's range: its E.164 form without the last :data:`PREFIX_TRIM` digits."""
    canonical = canonical_phone(e164)
    return canonical[: max(2, len(canonical) - PREFIX_TRIM)]
