"""GSM 03.38 (GSM-7): which texts fit the 7-bit SMS alphabet, and in how many segments."""

from __future__ import annotations

import math

BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENDED = frozenset("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(c in BASIC or c in EXTENDED for c in text)


def septets(text: str) -> int:
    """Length in GSM-7 septets: characters of the extension table take two."""
    return sum(2 if c in EXTENDED else 1 for c in text)


def segments(text: str) -> int:
    """How many SMS segments the text needs (GSM-7 if it can, else UCS-2)."""
    if is_gsm7(text):
        n = septets(text)
        return 1 if n <= 160 else math.ceil(n / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)
