"""The abuse guard's operator side: allow and block lists, and lifting what it holds.

``otpgate guard status|allow|block|unblock`` (``cli/guard.py``) runs these use cases.
Lists belong to a tenant and cover both of its environments; pauses and counters are
per environment; a destination's lockout covers the tenant (as its lockout key does).

- **allow / block** put one entry for a country, a prefix or one destination (replacing
  the entry's earlier verdict, if any). Countries and prefixes are stored as given; a
  destination as the keyed fingerprint of its canonical form, with its masked form
  beside it for people to read.
- **unblock** removes the entry, and lifts what the guard holds on the same target: a
  prefix's or country's pause (forgetting the conversion counts that caused it, so the
  same sends do not pause it again at once), or a destination's lockout (forgetting its
  wrong codes of the hour).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from otpgate.core.guard import fingerprint_of, list_entries
from otpgate.core.guard_types import (
    GuardScope,
    ListedEntry,
    ListEntry,
    ListVerdict,
    LockedDestination,
    Pause,
)
from otpgate.core.model import Destination, Environment
from otpgate.core.service import OtpService
from otpgate.core.uow import UnitOfWork
from otpgate.core.velocity import (
    HOUR,
    RANGE_SCOPES,
    Conversion,
    conversion_of,
    conversion_windows,
    range_of,
    ranges,
)


class GuardAdminRepository(Protocol):
    """What operators read and change of the guard's stored state."""

    async def put(
        self, tenant_id: str, entry: ListEntry, verdict: ListVerdict, label: str, now: float
    ) -> None: ...

    async def remove(self, tenant_id: str, entry: ListEntry) -> bool:
        """Delete the entry; ``False`` if the tenant had none."""
        ...

    async def entries(self, tenant_id: str) -> list[ListedEntry]: ...

    async def pauses(self, tenant_id: str, now: float) -> list[Pause]:
        """The tenant's pauses in force, in every environment."""
        ...

    async def lift(self, tenant_id: str, environment: str, entry: ListEntry, now: float) -> bool:
        """End a pause in force; ``False`` if there was none."""
        ...

    async def locked(self, tenant_id: str, now: float) -> list[LockedDestination]:
        """The tenant's destinations locked now, masked from their newest session."""
        ...

    async def forget(self, lockouts: Sequence[str], counters: Sequence[str]) -> None:
        """Delete these lockouts, and every window of these counters."""
        ...


class GuardAdminUnitOfWork(UnitOfWork, Protocol):
    @property
    def guard_admin(self) -> GuardAdminRepository: ...


@dataclass(frozen=True, slots=True)
class Target:
    """What an operator names: a country (``US``), a prefix (``+1201555``) or a destination."""

    scope: GuardScope
    value: str
    destination: Destination | None = None

    @classmethod
    def of(cls, destination: Destination) -> Target:
        return cls(GuardScope.DESTINATION, destination.value, destination)


@dataclass(frozen=True, slots=True)
class RangeStatus:
    """A destination's prefix or country in one environment, as its counters stand."""

    environment: str
    scope: GuardScope
    value: str
    sends_this_hour: int
    sends_per_hour: int
    conversion: Conversion
    paused_until: float | None


@dataclass(frozen=True, slots=True)
class DestinationStatus:
    label: str
    entries: list[ListedEntry]
    """The tenant's entries that cover it (its own, its country's, its prefixes')."""
    failures_this_hour: int
    failures_per_hour: int
    locked_until: float | None
    ranges: list[RangeStatus]


@dataclass(frozen=True, slots=True)
class GuardStatus:
    entries: list[ListedEntry]
    pauses: list[Pause]
    locked: list[LockedDestination]
    destination: DestinationStatus | None = None


@dataclass(frozen=True, slots=True)
class Unblocked:
    """What ``unblock`` found to undo."""

    entry: bool
    pauses: list[str]
    """The environments in which a pause was lifted."""
    lockout: bool


class GuardAdmin:
    def __init__(self, otp: OtpService, uow: Callable[[], GuardAdminUnitOfWork]) -> None:
        self.otp = otp
        self.uow = uow

    def entry(self, tenant_id: str, target: Target) -> ListEntry:
        if target.destination is None:
            return ListEntry(target.scope, target.value)
        key = self.otp.destination_key(tenant_id, target.destination)
        return ListEntry(GuardScope.DESTINATION, fingerprint_of(key))

    async def put(self, tenant_id: str, target: Target, verdict: ListVerdict) -> ListedEntry:
        """Allow or block ``target`` for the tenant, in both environments."""
        now = self.otp.clock.now()
        entry = self.entry(tenant_id, target)
        label = target.destination.masked() if target.destination else target.value
        async with self.uow() as uow:
            await uow.guard_admin.put(tenant_id, entry, verdict, label, now)
            await uow.commit()
        return ListedEntry(entry, verdict, label, now)

    async def unblock(
        self, tenant_id: str, target: Target, environment: Environment | None = None
    ) -> Unblocked:
        now = self.otp.clock.now()
        entry = self.entry(tenant_id, target)
        lifted: list[str] = []
        lockout = False
        async with self.uow() as uow:
            removed = await uow.guard_admin.remove(tenant_id, entry)
            if target.scope in RANGE_SCOPES:
                for env in [environment] if environment else list(Environment):
                    if await uow.guard_admin.lift(tenant_id, str(env), entry, now):
                        lifted.append(str(env))
                        r = range_of(tenant_id, env, target.scope, target.value)
                        await uow.guard_admin.forget([], [r.sent, r.verified])
            elif target.destination is not None:
                key = self.otp.destination_key(tenant_id, target.destination)
                lockout = await uow.counters.locked_until(f"lock:{key}", now) is not None
                await uow.guard_admin.forget([f"lock:{key}"], [f"fail:{key}"])
            await uow.commit()
        return Unblocked(entry=removed, pauses=lifted, lockout=lockout)

    async def status(
        self,
        tenant_id: str,
        environment: Environment | None = None,
        destination: Destination | None = None,
    ) -> GuardStatus:
        now = self.otp.clock.now()
        async with self.uow() as uow:
            entries = await uow.guard_admin.entries(tenant_id)
            pauses = [
                p
                for p in await uow.guard_admin.pauses(tenant_id, now)
                if environment is None or p.environment == environment
            ]
            locked = await uow.guard_admin.locked(tenant_id, now)
            found = None
            if destination is not None:
                envs = [environment] if environment else list(Environment)
                found = await self._destination(uow, tenant_id, envs, destination, entries, pauses)
        return GuardStatus(entries, pauses, locked, found)

    async def _destination(
        self,
        uow: GuardAdminUnitOfWork,
        tenant_id: str,
        environments: Sequence[Environment],
        destination: Destination,
        entries: Sequence[ListedEntry],
        pauses: Sequence[Pause],
    ) -> DestinationStatus:
        now = self.otp.clock.now()
        settings = self.otp.guard.settings
        key = self.otp.destination_key(tenant_id, destination)
        covering = set(list_entries(destination, key))
        per_hour = {
            GuardScope.PREFIX: settings.prefix_sends_per_hour,
            GuardScope.COUNTRY: settings.country_sends_per_hour,
        }
        found: list[RangeStatus] = []
        for env in environments:
            for r in ranges(tenant_id, env, destination):
                counts = await uow.counters.counts(
                    [r.sent, r.verified],
                    settings.conversion_window_seconds,
                    conversion_windows(settings, now),
                )
                paused = [
                    p.until
                    for p in pauses
                    if (p.environment, p.scope, p.value) == (env, r.scope, r.value)
                ]
                found.append(
                    RangeStatus(
                        environment=str(env),
                        scope=r.scope,
                        value=r.value,
                        sends_this_hour=await uow.counters.count(r.velocity, HOUR, now),
                        sends_per_hour=per_hour[r.scope],
                        conversion=conversion_of(settings, r, counts, now),
                        paused_until=max(paused, default=None),
                    )
                )
        return DestinationStatus(
            label=destination.masked(),
            entries=[e for e in entries if e.entry in covering],
            failures_this_hour=await uow.counters.count(f"fail:{key}", HOUR, now),
            failures_per_hour=settings.failures_per_hour,
            locked_until=await uow.counters.locked_until(f"lock:{key}", now),
            ranges=found,
        )
