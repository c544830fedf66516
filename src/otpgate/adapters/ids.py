"""Identifiers made with third-party packages, for the flows that are handed them."""

from __future__ import annotations

from ulid import ULID


def new_ulid() -> str:
    """A new ULID (time-ordered, 80 random bits) as 26 Crockford base32 characters."""
    return str(ULID())
