"""The abuse guard: every send passes it before a message goes out; every guess feeds it.

It stops SMS pumping (codes sent to numbers whose owners are paid per message, which
nobody ever enters) and send-and-guess cycling (a new session each time the old one's
attempts run out). Thresholds and why: :mod:`otpgate.core.guard_settings`; operators'
guide: ``docs/abuse-guard.md``. Everything it reads and writes is in the send's (or the
guess's) own unit of work, so its limits hold across processes, with or without Redis.

A send meets, in order (the first that refuses answers):

1. the sandbox magic number :data:`GUARD_REFUSED_PHONE`: refused, whatever the lists say;
2. the tenant's lists (one read, with 5): an **allow** entry for the destination, its
   country or any prefix of it wins over every block and skips 3, 5 and the range
   signals of 6; otherwise a **block** entry refuses;
3. the number type (``Destination.line_type`` in ``refused_line_types``);
4. the destination's lockout and per-minute send limit (``OtpService``, not here);
5. a stored pause in force on the number's prefix or country;
6. velocity and budgets (per prefix, country, end-user address, tenant), then conversion:
   where too few of a range's recent sends were verified, a pause is stored for the
   cool-off (``guard_conversion_cooloff_seconds``) in this same transaction. The send
   that starts it goes out; those after it are refused until it lifts by itself.

Refusals 1-3 are for good (``RefusedForRisk``); 5 and 6 lift by themselves
(``PausedForRisk`` with ``retry_after``). Each is audited, counted and logged through
``on_refusal``, without the caller learning which signal fired.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from otpgate.core.canonical import canonical_phone
from otpgate.core.errors import PausedForRisk, RefusedForRisk
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.guard_types import (
    GUARD_REFUSED_PHONE,
    GuardReason,
    GuardScope,
    ListEntry,
    Screening,
)
from otpgate.core.model import AuditEvent, Destination, DestinationKind, Environment
from otpgate.core.session import VerificationSession
from otpgate.core.uow import UnitOfWork, UnitOfWorkFactory
from otpgate.core.velocity import (
    CONVERSION,
    HOUR,
    conversion_windows,
    judge_conversion,
    over_limit,
    ranges,
    send_tallies,
    verified_tallies,
)

REFUSED = "the request was refused for risk"
Refusal = Callable[[AuditEvent], None]
"""Told of every send the guard refuses (the metrics and the log line)."""


def fingerprint_of(destination_key: str) -> str:
    """The keyed fingerprint in a destination key (``<tenant>:<fingerprint>``)."""
    return destination_key.rsplit(":", 1)[-1]


def list_entries(destination: Destination, destination_key: str) -> list[ListEntry]:
    """What a tenant's lists may hold about a destination: it, its country, its prefixes."""
    entries = [ListEntry(GuardScope.DESTINATION, fingerprint_of(destination_key))]
    if destination.kind is DestinationKind.PHONE:
        if destination.country:
            entries.append(ListEntry(GuardScope.COUNTRY, destination.country))
        number = canonical_phone(destination.value)
        entries += [ListEntry(GuardScope.PREFIX, number[:n]) for n in range(2, len(number))]
    return entries


@dataclass(frozen=True, slots=True)
class GuardedSend:
    """One send as the guard sees it."""

    tenant_id: str
    environment: Environment
    destination: Destination
    destination_key: str
    ip_address: str | None = None


class Guard:
    def __init__(
        self,
        settings: GuardSettings,
        uow: UnitOfWorkFactory,
        *,
        on_refusal: Refusal | None = None,
        on_fail_open: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.uow = uow
        self.on_refusal = on_refusal
        self.on_fail_open = on_fail_open
        self._audits: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    # -- sends ----------------------------------------------------------

    async def screen(self, uow: UnitOfWork, send: GuardedSend, now: float) -> Screening:
        """Signals 1, 2, 3 and 5, before anything is counted; raises when one refuses."""
        if not self.enabled:
            return Screening()
        d = send.destination
        if d.kind is DestinationKind.PHONE and d.value == GUARD_REFUSED_PHONE:
            self._refuse(send, GuardReason.REFUSED_NUMBER, now)
        judged = ranges(send.tenant_id, send.environment, d)
        found = await uow.guard.screen(
            send.tenant_id,
            str(send.environment),
            list_entries(d, send.destination_key),
            [ListEntry(r.scope, r.value) for r in judged],
            now,
        )
        if found.allowed:
            return found
        if found.blocked:
            self._refuse(send, GuardReason.BLOCK_LIST, now)
        if d.line_type is not None and d.line_type in self.settings.refused_line_types:
            self._refuse(send, GuardReason.NUMBER_TYPE, now)
        if found.pauses:
            last = max(found.pauses, key=lambda p: p.until)
            self._pause(send, CONVERSION[last.scope], math.ceil(last.until - now), now)
        return found

    async def count_send(
        self, uow: UnitOfWork, send: GuardedSend, now: float, screening: Screening
    ) -> None:
        """Signal 6: one multi-row upsert and, for a phone, one read; stores a pause where
        conversion is too low."""
        if not self.enabled:
            return
        s = self.settings
        judged = (
            [] if screening.allowed else ranges(send.tenant_id, send.environment, send.destination)
        )
        tallies = send_tallies(
            s, send.tenant_id, send.environment, send.destination, send.ip_address, judged=judged
        )
        counts = await uow.counters.hit_many([(t.key, t.window_seconds) for t in tallies], now)
        if (past := over_limit(tallies, counts)) is not None:
            assert past.reason is not None
            self._pause(send, past.reason, past.retry_after(now), now)
        if not judged:
            return
        keys = [k for r in judged for k in (r.sent, r.verified)]
        seen = await uow.counters.counts(
            keys, s.conversion_window_seconds, conversion_windows(s, now)
        )
        tripped = judge_conversion(s, judged, seen, now)
        if tripped is None:
            return
        until = now + s.conversion_cooloff_seconds
        reason = CONVERSION[tripped.scope]
        env = str(send.environment)
        if not await uow.guard.pause(send.tenant_id, env, tripped.scope, tripped.value, until, now):
            # Another send paused the range a moment ago; this one came too late.
            self._pause(send, reason, s.conversion_cooloff_seconds, now)
        await uow.audit.record(
            AuditEvent(
                tenant_id=send.tenant_id,
                subject_type=str(tripped.scope),
                subject_id=tripped.value,
                action="guard.paused",
                at=now,
                detail={"reasons": [str(reason)], "environment": env, "until": until},
            )
        )

    def failed_open(self) -> None:
        """A send went through although a signal could not be read (Redis away): the
        ordinary limits, counted in the database, held it; say so."""
        if self.enabled and self.on_fail_open is not None:
            self.on_fail_open()

    # -- guesses --------------------------------------------------------

    async def count_verified(
        self, uow: UnitOfWork, session: VerificationSession, now: float
    ) -> None:
        """The conversion signal: real people enter their codes."""
        if not self.enabled:
            return
        feed = verified_tallies(
            self.settings, session.tenant_id, session.environment, session.destination
        )
        if feed:
            await uow.counters.hit_many([(t.key, t.window_seconds) for t in feed], now)

    async def count_failure(
        self, uow: UnitOfWork, session: VerificationSession, now: float
    ) -> None:
        """The failure budget: wrong codes per destination across all its sessions. Once
        spent, the destination is locked, which stops new sends and the guesses of every
        session still open for it, so send-and-guess cycling ends there."""
        if not self.enabled:
            return
        budget = self.settings.failures_per_hour
        spent = await uow.counters.hit(f"fail:{session.destination_key}", budget, HOUR, now)
        if spent.count < budget:
            return
        until = now + self.settings.failure_lockout_seconds
        await uow.counters.lock(f"lock:{session.destination_key}", until)
        if spent.count == budget:
            await uow.audit.record(
                AuditEvent(
                    tenant_id=session.tenant_id,
                    subject_type="destination",
                    subject_id=fingerprint_of(session.destination_key),
                    action="destination.locked",
                    at=now,
                    detail={"reasons": ["failure_budget"], "until": until},
                )
            )

    # -- refusals -------------------------------------------------------

    def _refuse(self, send: GuardedSend, reason: GuardReason, now: float) -> NoReturn:
        self._refused(send, reason, now)
        raise RefusedForRisk(REFUSED)

    def _pause(
        self, send: GuardedSend, reason: GuardReason, retry_after: int, now: float
    ) -> NoReturn:
        self._refused(send, reason, now)
        raise PausedForRisk(REFUSED, retry_after)

    def _refused(self, send: GuardedSend, reason: GuardReason, now: float) -> None:
        event = AuditEvent(
            tenant_id=send.tenant_id,
            subject_type="destination",
            subject_id=fingerprint_of(send.destination_key),
            action="send.refused",
            at=now,
            detail={"reasons": [str(reason)], "country": send.destination.country},
        )
        if self.on_refusal is not None:
            self.on_refusal(event)
        self._audit_later(event)

    def _audit_later(self, event: AuditEvent) -> None:
        """Audit a refusal in a unit of work of its own, once the refused request's unit
        of work (which rolls back) has ended."""

        async def write() -> None:
            try:
                async with self.uow() as uow:
                    await uow.audit.record(event)
                    await uow.commit()
            except Exception:  # noqa: S110 - visibility must never fail a request
                pass

        task = asyncio.get_running_loop().create_task(write())
        self._audits.add(task)
        task.add_done_callback(self._audits.discard)
