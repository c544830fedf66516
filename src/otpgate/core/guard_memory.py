"""The abuse guard's stores in memory: part of :class:`otpgate.core.memory.MemoryUnitOfWork`.

Tables: ``guard_lists`` maps ``(tenant, scope, value)`` to a :class:`ListedEntry`;
``guard_pauses`` maps ``(tenant, environment, scope, value)`` to a :class:`Pause`. The
contract suite (``tests/contract/test_guard_store.py``) runs these and the SQL stores
through the same cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from otpgate.core.guard_types import (
    GuardScope,
    ListedEntry,
    ListEntry,
    ListVerdict,
    LockedDestination,
    Pause,
    Screening,
)

if TYPE_CHECKING:
    from otpgate.core.memory import MemoryUnitOfWork


class _GuardTables:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def lists(self) -> dict[tuple[str, GuardScope, str], ListedEntry]:
        return self.uow.table("guard_lists")

    def pause_rows(self) -> dict[tuple[str, str, GuardScope, str], Pause]:
        return self.uow.table("guard_pauses")


class MemoryGuard(_GuardTables):
    async def screen(
        self,
        tenant_id: str,
        environment: str,
        entries: Sequence[ListEntry],
        ranges: Sequence[ListEntry],
        now: float,
    ) -> Screening:
        lists, rows = self.lists(), self.pause_rows()
        listed = [lists.get((tenant_id, e.scope, e.value)) for e in entries]
        paused = [rows.get((tenant_id, environment, e.scope, e.value)) for e in ranges]
        return Screening(
            frozenset(e.verdict for e in listed if e is not None),
            [p for p in paused if p is not None and p.until > now],
        )

    async def pause(
        self,
        tenant_id: str,
        environment: str,
        scope: GuardScope,
        value: str,
        until: float,
        now: float,
    ) -> bool:
        rows = self.pause_rows()
        key = (tenant_id, environment, scope, value)
        current = rows.get(key)
        if current is not None and current.until > now:
            return False
        rows[key] = Pause(environment, scope, value, until, now)
        return True


class MemoryGuardAdmin(_GuardTables):
    async def put(
        self, tenant_id: str, entry: ListEntry, verdict: ListVerdict, label: str, now: float
    ) -> None:
        self.lists()[(tenant_id, entry.scope, entry.value)] = ListedEntry(
            entry, verdict, label, now
        )

    async def remove(self, tenant_id: str, entry: ListEntry) -> bool:
        return self.lists().pop((tenant_id, entry.scope, entry.value), None) is not None

    async def entries(self, tenant_id: str) -> list[ListedEntry]:
        found = [e for (t, _, _), e in self.lists().items() if t == tenant_id]
        return sorted(found, key=lambda e: (e.entry.scope, e.entry.value))

    async def pauses(self, tenant_id: str, now: float) -> list[Pause]:
        found = [p for (t, *_), p in self.pause_rows().items() if t == tenant_id and p.until > now]
        return sorted(found, key=lambda p: (p.environment, p.scope, p.value))

    async def lift(self, tenant_id: str, environment: str, entry: ListEntry, now: float) -> bool:
        found = self.pause_rows().pop((tenant_id, environment, entry.scope, entry.value), None)
        return found is not None and found.until > now

    async def locked(self, tenant_id: str, now: float) -> list[LockedDestination]:
        prefix = f"lock:{tenant_id}:"
        sessions: dict[str, Any] = self.uow.table("sessions")
        newest = {}
        for s in sorted(sessions.values(), key=lambda s: s.created_at):
            newest[s.destination_key] = s.destination.masked()
        found = []
        for key, until in self.uow.table("lockouts").items():
            if key.startswith(prefix) and until > now:
                destination_key = key.removeprefix("lock:")
                label = newest.get(destination_key) or LockedDestination.unknown_label(
                    destination_key
                )
                found.append(LockedDestination(destination_key, label, until))
        return sorted(found, key=lambda d: d.until)

    async def forget(self, lockouts: Sequence[str], counters: Sequence[str]) -> None:
        locks = self.uow.table("lockouts")
        for key in lockouts:
            locks.pop(key, None)
        names = set(counters)
        table = self.uow.table("counters")
        for slot in [slot for slot in table if slot[0] in names]:
            del table[slot]
