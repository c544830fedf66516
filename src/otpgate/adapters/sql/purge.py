"""Housekeeping: delete what otpgate no longer needs, personal data first.

``purge(now, older_than)`` deletes, for everything created before ``now - older_than``:
verification sessions (destination, nonce) that have also expired, delivery records,
outbox messages (bodies hold codes and destinations), evaluations with their
enrichments (names, addresses, phone numbers), stored idempotent responses
(which repeat the evaluation), PhoneMatch gateway transactions (customer references)
and the sponsor API's OTP ids and spent or expired verification tokens (beneficiary
ids). Sponsors and beneficiaries are on-file data the tenant manages; they stay.
Expired rate counters, lockouts and abuse-guard pauses go whatever their age. Audit events hold no
personal data (ids, actions, counts) and are kept until ``audit_older_than`` is
given, so operators can keep them for as long as their compliance rules say.

Every process of a deployment may run it at the same time: each table is one
``DELETE … WHERE <indexed time column> < cutoff`` in its own transaction.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Delete, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.adapters.sql.tables import (
    audit_events,
    deliveries,
    enrichments,
    evaluations,
    gateway_transactions,
    guard_pauses,
    idempotency,
    lockouts,
    outbox,
    rate_counters,
    sessions,
    sponsor_otps,
    verification_tokens,
)

log = structlog.get_logger("otpgate.purge")


@dataclass(frozen=True, slots=True)
class PurgeReport:
    cutoff: float
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


class Purger:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def purge(
        self, now: float, older_than: float, audit_older_than: float | None = None
    ) -> PurgeReport:
        cutoff = now - older_than
        old_evaluations = select(evaluations.c.id).where(evaluations.c.started_at < cutoff)
        statements: list[tuple[str, Delete]] = [
            (
                "verification_sessions",
                delete(sessions).where(sessions.c.created_at < cutoff, sessions.c.expires_at < now),
            ),
            ("deliveries", delete(deliveries).where(deliveries.c.created_at < cutoff)),
            ("outbox", delete(outbox).where(outbox.c.created_at < cutoff)),
            (
                "evaluation_enrichments",
                delete(enrichments).where(enrichments.c.evaluation_id.in_(old_evaluations)),
            ),
            ("evaluations", delete(evaluations).where(evaluations.c.started_at < cutoff)),
            ("idempotency_records", delete(idempotency).where(idempotency.c.created_at < cutoff)),
            (
                "gateway_transactions",
                delete(gateway_transactions).where(gateway_transactions.c.created_at < cutoff),
            ),
            ("sponsor_otps", delete(sponsor_otps).where(sponsor_otps.c.created_at < cutoff)),
            (
                "sponsor_verification_tokens",
                delete(verification_tokens).where(
                    verification_tokens.c.created_at < cutoff,
                    verification_tokens.c.expires_at < now,
                ),
            ),
        ]
        if audit_older_than is not None:
            statements.append(
                (
                    "audit_events",
                    delete(audit_events).where(audit_events.c.created_at < now - audit_older_than),
                )
            )
        deleted: dict[str, int] = {}
        for name, stmt in statements:
            async with self.engine.begin() as conn:
                deleted[name] = int((await conn.execute(stmt)).rowcount)
        async with self.engine.begin() as conn:
            counters = await conn.execute(
                delete(rate_counters).where(rate_counters.c.expires_at < now)
            )
            locks = await conn.execute(delete(lockouts).where(lockouts.c.until < now))
            # A lifted pause is re-armed in place when its range trips again
            # (guard.py, _PAUSE_AGAIN), so a deleted one is simply inserted anew.
            pauses = await conn.execute(delete(guard_pauses).where(guard_pauses.c.until < now))
        deleted["rate_limits"] = int(counters.rowcount + locks.rowcount)
        deleted["guard_pauses"] = int(pauses.rowcount)
        return PurgeReport(cutoff=cutoff, deleted=deleted)


class PurgeSchedule:
    """Runs a purge every ``interval`` seconds (with jitter, so replicas spread out)."""

    def __init__(
        self,
        purger: Purger,
        now: Callable[[], float],
        *,
        interval: float,
        older_than: float,
    ) -> None:
        self.purger = purger
        self.now = now
        self.interval = interval
        self.older_than = older_than
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="otpgate-purge")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def run_once(self) -> PurgeReport:
        report = await self.purger.purge(self.now(), self.older_than)
        log.info("purge.done", total=report.total, **report.deleted)
        return report

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval * random.uniform(0.8, 1.2))
            try:
                await self.run_once()
            except Exception as exc:  # a failed purge must never take the server down
                log.warning("purge.failed", error=type(exc).__name__)
