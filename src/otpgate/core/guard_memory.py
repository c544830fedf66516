"""In-memory adapters of the guard's ports: the fakes the tests use, shipped with the package.

They keep the same semantics as :mod:`otpgate.adapters.redis.guard` (the guard counter
contract suite runs against both). :class:`FaultyGuardStore` raises on every call, to
show the guard failing open.
"""

from __future__ import annotations

from collections.abc import Sequence

from otpgate.core.guard_ports import ListEntry, ListVerdict, Tally


class InMemoryGuardStore:
    """Fixed-window counters and deadlines in dicts: ``GuardCounters`` and ``GuardHolds``."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int, int], int] = {}
        self.deadlines: dict[str, float] = {}

    async def hit(self, tallies: Sequence[Tally]) -> list[int]:
        out = []
        for tally in tallies:
            slot = (tally.key, tally.window_seconds, tally.bucket)
            self.counts[slot] = self.counts.get(slot, 0) + 1
            out.append(self.counts[slot])
        return out

    async def peek(self, tallies: Sequence[Tally]) -> list[int]:
        return [self.counts.get((t.key, t.window_seconds, t.bucket), 0) for t in tallies]

    async def hold(self, key: str, until: float) -> None:
        self.deadlines[key] = max(until, self.deadlines.get(key, 0.0))

    async def held_until(self, keys: Sequence[str], now: float) -> list[float | None]:
        out: list[float | None] = []
        for key in keys:
            until = self.deadlines.get(key)
            out.append(until if until is not None and until > now else None)
        return out

    async def release(self, key: str) -> None:
        self.deadlines.pop(key, None)


class InMemoryGuardLists:
    """Allow and block entries per tenant (:class:`GuardLists`), plus the operator's edits."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, ListEntry], ListVerdict] = {}

    async def lookup(
        self, tenant_id: str, entries: Sequence[ListEntry]
    ) -> dict[ListEntry, ListVerdict]:
        found = {}
        for entry in entries:
            verdict = self.entries.get((tenant_id, entry))
            if verdict is not None:
                found[entry] = verdict
        return found

    def put(self, tenant_id: str, entry: ListEntry, verdict: ListVerdict) -> None:
        self.entries[(tenant_id, entry)] = verdict

    def remove(self, tenant_id: str, entry: ListEntry) -> None:
        self.entries.pop((tenant_id, entry), None)


class FaultyGuardStore:
    """Every call raises, as a Redis that went away would."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error or ConnectionError("guard store unreachable")
        self.calls = 0

    def _fail(self) -> Exception:
        self.calls += 1
        return self.error

    async def hit(self, tallies: Sequence[Tally]) -> list[int]:
        raise self._fail()

    async def peek(self, tallies: Sequence[Tally]) -> list[int]:
        raise self._fail()

    async def hold(self, key: str, until: float) -> None:
        raise self._fail()

    async def held_until(self, keys: Sequence[str], now: float) -> list[float | None]:
        raise self._fail()

    async def release(self, key: str) -> None:
        raise self._fail()

    async def lookup(
        self, tenant_id: str, entries: Sequence[ListEntry]
    ) -> dict[ListEntry, ListVerdict]:
        raise self._fail()
