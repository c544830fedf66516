"""The small interfaces the abuse guard needs from storage.

Three ports, each one or a few calls that take many keys at once, so a Redis adapter
answers a whole send check in a handful of round trips:

- :class:`GuardCounters`: fixed-window counters (velocity, conversion, failures);
- :class:`GuardHolds`: deadlines (conversion pauses, lockouts) that lift by themselves;
- :class:`GuardLists`: an operator's allow and block entries, per tenant.

Keys never hold a destination in clear: the guard hands adapters keyed hashes of
numbers, prefixes, addresses and IP addresses (a copy of Redis reveals no destination).
In-memory fakes live in :mod:`otpgate.core.guard_memory`, Redis in
:mod:`otpgate.adapters.redis.guard`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Tally:
    """One fixed window of one counter: the ``window_seconds`` window that holds ``at``.

    A counter is named by its key *and* its window length: one key may be counted per
    hour and per day without the two mixing.
    """

    key: str
    window_seconds: int
    at: float

    @property
    def bucket(self) -> int:
        return int(self.at // self.window_seconds)

    @property
    def ends_at(self) -> float:
        return float((self.bucket + 1) * self.window_seconds)


class GuardCounters(Protocol):
    async def hit(self, tallies: Sequence[Tally]) -> list[int]:
        """Atomically add one to each tally's window; return the new counts, in order.

        A window stays readable (``peek``) for one more window after it ends, so the
        previous window can be read for a sliding estimate.
        """
        ...

    async def peek(self, tallies: Sequence[Tally]) -> list[int]:
        """Each tally's window count (0 if never hit), counting nothing."""
        ...


class GuardHolds(Protocol):
    async def hold(self, key: str, until: float) -> None:
        """Hold ``key`` until ``until``; a later deadline already held is kept."""
        ...

    async def held_until(self, keys: Sequence[str], now: float) -> list[float | None]:
        """Each key's deadline if it is still in the future, else ``None``; in order."""
        ...

    async def release(self, key: str) -> None:
        """Lift a hold before its deadline (an operator's decision)."""
        ...


class ListScope(enum.StrEnum):
    COUNTRY = "country"  # ISO 3166 region, as phonenumbers gives it ("US", "001")
    PREFIX = "prefix"  # a leading part of an E.164 number, of any length ("+1900")
    DESTINATION = "destination"  # one number (E.164) or one canonical email address


class ListVerdict(enum.StrEnum):
    ALLOW = "allow"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class ListEntry:
    """A scope and a value: plain for countries, a keyed hash for prefixes and destinations."""

    scope: ListScope
    value: str


class GuardLists(Protocol):
    async def lookup(
        self, tenant_id: str, entries: Sequence[ListEntry]
    ) -> dict[ListEntry, ListVerdict]:
        """The verdicts ``tenant_id`` has listed for any of ``entries`` (absent: none)."""
        ...
