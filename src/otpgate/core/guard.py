"""The abuse guard: every send passes it before a message goes out; every guess feeds it.

It stops SMS pumping (codes sent to numbers whose owners are paid per message, which
nobody ever enters) and send-and-guess cycling (a new session each time the old one's
attempts run out). Thresholds and why they are what they are:
:mod:`otpgate.core.guard_settings`; operators' guide: ``docs/abuse-guard.md``.

What the flows call, and when::

    subject = GuardSubject(tenant_id, environment, destination, ip_address)
    decision = await guard.check_send(subject, now)      # after the ordinary limits,
    if not decision.allowed: refuse (retry_after)        # right before delivery
    ...
    if not (await guard.check_guess(subject, now)).allowed: refuse, compare nothing
    compare the code
    await guard.record_verification(subject, Outcome.WRONG | Outcome.VERIFIED, now)
    when the ordinary lockout locks a destination: await guard.record_lockout(subject, until)

Signals, in the order a send meets them (the first that refuses answers):

1. the sandbox magic number :data:`GUARD_REFUSED_PHONE` (refused in both environments);
2. the tenant's lists: a block entry for the country, any prefix or the destination
   refuses; an allow entry anywhere wins over blocks and skips signals 3, 5 and 6;
3. number type (``Destination.line_type``) in ``refused_line_types``;
4. a lockout of the canonical destination (its failure budget, or the ordinary lockout);
5. conversion: prefix or country paused, or pausing now (too few sends verified);
6. velocity per prefix and per country per hour;
7. velocity per end-user IP address per hour, then the tenant's hourly and daily budget.

Blocks 1-3 are permanent (no ``retry_after``); the others lift by themselves.

Fails open: when a port raises, the guard allows the send (the ordinary limits still
apply) and says ``fail_open`` among the reasons. A failed list lookup skips the lists
only: number type needs no storage and still refuses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from otpgate.core.canonical import canonical_email, canonical_phone
from otpgate.core.guard_keys import SCOPES, SubjectKeys, base_key, keys_for, list_entries, scope_key
from otpgate.core.guard_ports import (
    GuardCounters,
    GuardHolds,
    GuardLists,
    ListEntry,
    ListScope,
    ListVerdict,
    Tally,
)
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.guard_types import (
    GUARD_REFUSED_PHONE,
    GuardDecision,
    GuardReason,
    GuardSubject,
    Outcome,
)
from otpgate.core.model import Environment

__all__ = [
    "GUARD_REFUSED_PHONE",
    "Guard",
    "GuardDecision",
    "GuardReason",
    "GuardSubject",
    "Outcome",
]

HOUR = 3_600
DAY = 86_400
CONVERSION = {"prefix": GuardReason.PREFIX_CONVERSION, "country": GuardReason.COUNTRY_CONVERSION}
VELOCITY = {"prefix": GuardReason.PREFIX_VELOCITY, "country": GuardReason.COUNTRY_VELOCITY}


class Blocked(Exception):
    """Internal: a signal refused the send (``until`` when it lifts by itself)."""

    def __init__(self, reason: GuardReason, until: float | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.until = until


@dataclass(frozen=True, slots=True)
class Limit:
    tally: Tally
    most: int
    reason: GuardReason


class Guard:
    def __init__(
        self,
        settings: GuardSettings,
        counters: GuardCounters,
        holds: GuardHolds,
        lists: GuardLists,
        fingerprint: Callable[[str], str],
    ) -> None:
        self.settings = settings
        self.counters = counters
        self.holds = holds
        self.lists = lists
        self._fp = fingerprint

    # -- what the flows call ------------------------------------------------

    async def check_send(self, subject: GuardSubject, now: float) -> GuardDecision:
        """May a code be sent to ``subject.destination`` now? Counts the send if so."""
        if not self.settings.enabled:
            return GuardDecision(True)
        keys = keys_for(subject, self._fp)
        notes: list[GuardReason] = []
        try:
            allowed = await self._screen(subject, keys, notes)
            await self._measure(subject, keys, allowed, now)
        except Blocked as block:
            return _blocked(block, notes, now)
        except Exception:
            notes.append(GuardReason.FAIL_OPEN)
        return GuardDecision(True, tuple(notes))

    async def check_guess(self, subject: GuardSubject, now: float) -> GuardDecision:
        """May an open session of this destination evaluate a code? Call before comparing."""
        if not self.settings.enabled:
            return GuardDecision(True)
        try:
            (until,) = await self.holds.held_until([keys_for(subject, self._fp).lock], now)
        except Exception:
            return GuardDecision(True, (GuardReason.FAIL_OPEN,))
        if until is not None:
            return _blocked(Blocked(GuardReason.LOCKED, until), [], now)
        return GuardDecision(True)

    async def record_verification(
        self, subject: GuardSubject, outcome: Outcome, now: float
    ) -> GuardDecision:
        """Feed a guess's outcome; the answer says whether more guesses may follow."""
        if not self.settings.enabled:
            return GuardDecision(True)
        keys = keys_for(subject, self._fp)
        try:
            if outcome is Outcome.VERIFIED:
                if keys.is_phone:
                    await self.counters.hit(self._conversion(keys, "c:ok", now))
                return GuardDecision(True)
            return await self._count_failure(keys, now)
        except Exception:
            return GuardDecision(True, (GuardReason.FAIL_OPEN,))

    async def record_lockout(self, subject: GuardSubject, until: float) -> GuardDecision:
        """The ordinary lockout locked this destination: hold it under its canonical key."""
        if not self.settings.enabled:
            return GuardDecision(True)
        try:
            await self.holds.hold(keys_for(subject, self._fp).lock, until)
        except Exception:
            return GuardDecision(True, (GuardReason.FAIL_OPEN,))
        return GuardDecision(True)

    # -- what operators call -----------------------------------------------

    def list_entry(self, scope: ListScope, value: str) -> ListEntry:
        """The entry a list store keeps for what an operator typed (hashed where personal)."""
        if scope is ListScope.COUNTRY:
            return ListEntry(scope, value.strip().upper())
        if scope is ListScope.PREFIX:
            return ListEntry(scope, self._fp(canonical_phone(value)))
        key = canonical_email(value) if "@" in value else canonical_phone(value)
        return ListEntry(scope, self._fp(key))

    async def lift(
        self, tenant_id: str, environment: Environment, scope: ListScope, value: str, now: float
    ) -> None:
        """Lift a lockout, or a conversion pause (and judge no conversion there for 2 windows)."""
        base = base_key(tenant_id, environment)
        name = self.list_entry(scope, value).value
        if scope is ListScope.DESTINATION:
            await self.holds.release(f"{base}:lock:{name}")
            return
        await self.holds.release(f"{base}:pause:{scope.value}:{name}")
        exempt_until = now + 2 * self.settings.conversion_window_seconds
        await self.holds.hold(f"{base}:exempt:{scope.value}:{name}", exempt_until)

    # -- the signals ----------------------------------------------------------

    async def _screen(
        self, subject: GuardSubject, keys: SubjectKeys, notes: list[GuardReason]
    ) -> bool:
        """Signals 1-3, which refuse for good; returns whether an allow entry matched."""
        if keys.is_phone and keys.canonical == GUARD_REFUSED_PHONE:
            raise Blocked(GuardReason.REFUSED_NUMBER)
        try:
            entries = list_entries(subject, keys, self._fp)
            verdicts = set((await self.lists.lookup(subject.tenant_id, entries)).values())
        except Exception:
            notes.append(GuardReason.FAIL_OPEN)
            verdicts = set()
        if ListVerdict.ALLOW in verdicts:
            notes.append(GuardReason.ALLOW_LIST)
            return True
        if ListVerdict.BLOCK in verdicts:
            raise Blocked(GuardReason.BLOCK_LIST)
        if keys.is_phone and subject.destination.line_type in self.settings.refused_line_types:
            raise Blocked(GuardReason.NUMBER_TYPE)
        return False

    async def _measure(
        self, subject: GuardSubject, keys: SubjectKeys, allowed: bool, now: float
    ) -> None:
        """Signals 4-7, read from storage; counts the send when none refuses."""
        s = self.settings
        judged = keys.is_phone and not allowed  # allow-listed ranges skip the range signals
        scopes = SCOPES if judged else ()
        wanted = [keys.lock]
        wanted += [scope_key(keys, signal, x) for signal in ("pause", "exempt") for x in scopes]
        held = await self.holds.held_until(wanted, now)
        if held[0] is not None:
            raise Blocked(GuardReason.LOCKED, held[0])
        if judged:
            await self._judge_conversion(keys, held[1:3], held[3:5], now)
        ranged = [
            Limit(Tally(scope_key(keys, "v", x), HOUR, now), self._per_hour(x), VELOCITY[x])
            for x in scopes
        ]
        if keys.ip is not None:
            ranged.append(
                Limit(Tally(keys.ip, HOUR, now), s.ip_sends_per_hour, GuardReason.IP_VELOCITY)
            )
        await self._velocity(ranged)
        budget = s.budget_for(subject.tenant_id)
        spend = [
            Limit(Tally(keys.tenant, HOUR, now), budget.per_hour, GuardReason.TENANT_HOURLY),
            Limit(Tally(keys.tenant, DAY, now), budget.per_day, GuardReason.TENANT_DAILY),
        ]
        await self._velocity(spend, also=self._conversion(keys, "c:sent", now) if judged else [])

    def _per_hour(self, scope: str) -> int:
        s = self.settings
        return s.prefix_sends_per_hour if scope == "prefix" else s.country_sends_per_hour

    async def _judge_conversion(
        self, keys: SubjectKeys, paused: list[float | None], exempt: list[float | None], now: float
    ) -> None:
        s = self.settings
        for until, scope in zip(paused, SCOPES, strict=True):
            if until is not None:
                raise Blocked(CONVERSION[scope], until)
        window = s.conversion_window_seconds
        tallies = self._conversion(keys, "c:sent", now) + self._conversion(keys, "c:ok", now)
        tallies += [Tally(t.key, window, now - window) for t in tallies]
        counts = await self.counters.peek(tallies)
        # [sent prefix, sent country, ok prefix, ok country] now, then the previous window.
        recent = [a + b for a, b in zip(counts[:4], counts[4:], strict=True)]
        floors = (s.prefix_conversion_min_sends, s.country_conversion_min_sends)
        for i, scope in enumerate(SCOPES):
            sent, ok = recent[i], recent[i + 2]
            if exempt[i] is not None or sent < floors[i]:
                continue
            if ok < s.conversion_threshold * sent:
                until = now + s.conversion_cooloff_seconds
                await self.holds.hold(scope_key(keys, "pause", scope), until)
                raise Blocked(CONVERSION[scope], until)

    async def _velocity(self, limits: list[Limit], also: list[Tally] | None = None) -> None:
        tallies = [limit.tally for limit in limits] + (also or [])
        if not tallies:
            return
        counts = await self.counters.hit(tallies)
        for limit, count in zip(limits, counts, strict=False):
            if count > limit.most:
                raise Blocked(limit.reason, limit.tally.ends_at)

    async def _count_failure(self, keys: SubjectKeys, now: float) -> GuardDecision:
        (current,) = await self.counters.hit([Tally(keys.failures, HOUR, now)])
        (previous,) = await self.counters.peek([Tally(keys.failures, HOUR, now - HOUR)])
        if current + previous < self.settings.failures_per_hour:
            return GuardDecision(True)
        until = now + self.settings.failure_lockout_seconds
        await self.holds.hold(keys.lock, until)
        return _blocked(Blocked(GuardReason.LOCKED, until), [], now)

    def _conversion(self, keys: SubjectKeys, signal: str, now: float) -> list[Tally]:
        window = self.settings.conversion_window_seconds
        return [Tally(scope_key(keys, signal, x), window, now) for x in SCOPES]


def _blocked(block: Blocked, notes: list[GuardReason], now: float) -> GuardDecision:
    retry = None if block.until is None else max(1, math.ceil(block.until - now))
    return GuardDecision(False, (block.reason, *notes), retry)
