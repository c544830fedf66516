"""A small in-process map whose entries expire: for lookups worth repeating for a while.

The key store keeps key lookups (hits and misses) for ``OTPGATE_KEY_CACHE_SECONDS``; the
courier keeps tenant accounts for a minute. Neither must grow without bound, and neither
is worth an eviction policy: past ``max_entries`` the whole map is emptied, and the next
lookups fill it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class Cached(Generic[V]):
    """One remembered value (``None`` included: a miss is worth remembering too)."""

    value: V
    expires_at: float


class ExpiringCache(Generic[K, V]):
    """``get`` answers what ``put`` stored until it expires; times are the caller's clock."""

    __slots__ = ("_entries", "max_entries", "ttl_seconds")

    def __init__(self, ttl_seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[K, Cached[V]] = {}

    def get(self, key: K, now: float) -> Cached[V] | None:
        """The entry for ``key`` while it is fresh at ``now``, else ``None``."""
        entry = self._entries.get(key)
        return entry if entry is not None and entry.expires_at > now else None

    def put(self, key: K, value: V, now: float) -> None:
        """Remember ``value`` for ``ttl_seconds`` from ``now``."""
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = Cached(value, now + self.ttl_seconds)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
