"""In-memory adapters: the fakes the tests use, shipped with the package.

:class:`MemoryDatabase` keeps tables as dicts. A :class:`MemoryUnitOfWork` takes the
database's lock for its whole life (units of work are serial, the strictest isolation
there is) and works on copies of the tables, which replace the originals only on
:meth:`MemoryUnitOfWork.commit`: leaving without commit changes nothing. The store
contract suite (``tests/contract``) runs these and the SQL adapters through the same
cases, so a test of a flow on these fakes says something true about production.

Flows add their own in-memory stores by subclassing :class:`MemoryUnitOfWork`
(``otpgate.testing.app`` does, for every flow).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self

from otpgate.core.guard_memory import MemoryGuard, MemoryGuardAdmin
from otpgate.core.model import (
    AuditEvent,
    DeliveryResult,
    OutgoingMessage,
    RateDecision,
    Tenant,
)
from otpgate.core.session import SessionState, VerificationSession
from otpgate.core.uow import Claim, OutboxEntry, StoredAnswer, TenantRepository


@dataclass
class MemoryDatabase:
    """The committed state. ``tables`` maps a table name to its rows, by key."""

    tables: dict[str, dict[Any, Any]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    commits: int = 0

    def table(self, name: str) -> dict[Any, Any]:
        return self.tables.setdefault(name, {})

    @property
    def sessions(self) -> dict[str, VerificationSession]:
        return self.table("sessions")

    @property
    def events(self) -> list[AuditEvent]:
        return [e for _, e in sorted(self.table("audit").items())]

    @property
    def outbox(self) -> list[OutboxEntry]:
        return [e for _, e in sorted(self.table("outbox").items())]


class _Repo:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def t(self, name: str) -> dict[Any, Any]:
        return self.uow.table(name)


class MemorySessions(_Repo):
    async def create(self, session: VerificationSession) -> None:
        self.t("sessions")[session.id] = session

    async def get(self, tenant_id: str, session_id: str) -> VerificationSession | None:
        s: VerificationSession | None = self.t("sessions").get(session_id)
        return s if s is not None and s.tenant_id == tenant_id else None

    async def claim_attempt(self, session_id: str, now: float) -> VerificationSession | None:
        s: VerificationSession | None = self.t("sessions").get(session_id)
        if (
            s is None
            or s.state is not SessionState.PENDING
            or s.attempts >= s.max_attempts
            or now >= s.expires_at
            or self.t("lockouts").get(f"lock:{s.destination_key}", 0.0) > now
        ):
            return None
        claimed = replace(s, attempts=s.attempts + 1)
        self.t("sessions")[session_id] = claimed
        return claimed

    async def transition(
        self, session_id: str, source: SessionState, target: SessionState, now: float
    ) -> bool:
        s = self.t("sessions").get(session_id)
        if s is None or s.state is not source:
            return False
        self.t("sessions")[session_id] = s.moved(target, now)
        return True

    async def count_send(self, session_id: str) -> None:
        s = self.t("sessions")[session_id]
        self.t("sessions")[session_id] = replace(s, sends=s.sends + 1)


class MemoryCounters(_Repo):
    """Fixed windows, as the SQL and Redis counters keep them."""

    async def hit(self, key: str, limit: int, window_seconds: int, now: float) -> RateDecision:
        window = int(now // window_seconds)
        counts = self.t("counters")
        count = counts.get((key, window), 0) + 1
        counts[(key, window)] = count
        retry_after = math.ceil((window + 1) * window_seconds - now)
        return RateDecision(allowed=count <= limit, retry_after=retry_after, count=count)

    async def hit_many(self, tallies: Sequence[tuple[str, int]], now: float) -> list[int]:
        counts = self.t("counters")
        found = []
        for key, window_seconds in tallies:
            slot = (key, int(now // window_seconds))
            counts[slot] = counts.get(slot, 0) + 1
            found.append(counts[slot])
        return found

    async def counts(
        self, keys: Sequence[str], window_seconds: int, windows: Sequence[int]
    ) -> dict[tuple[str, int], int]:
        table = self.t("counters")
        return {(k, w): table[(k, w)] for k in keys for w in windows if (k, w) in table}

    async def count(self, key: str, window_seconds: int, now: float) -> int:
        found: int = self.t("counters").get((key, int(now // window_seconds)), 0)
        return found

    async def lock(self, key: str, until: float) -> None:
        locks = self.t("lockouts")
        locks[key] = max(until, locks.get(key, 0.0))

    async def locked_until(self, key: str, now: float) -> float | None:
        until: float | None = self.t("lockouts").get(key)
        return until if until is not None and until > now else None


class MemoryIdempotency(_Repo):
    async def claim(
        self, tenant_id: str, scope: str, request_id: str, now: float, stale_before: float
    ) -> Claim:
        records = self.t("idempotency")
        key = (tenant_id, scope, request_id)
        found = records.get(key)
        if found is None:
            records[key] = (now, None)
            return Claim(won=True)
        created_at, answer = found
        if answer is not None:
            return Claim(won=False, answer=answer)
        if created_at < stale_before:
            records[key] = (now, None)
            return Claim(won=True)
        return Claim(won=False)

    async def save(self, tenant_id: str, scope: str, request_id: str, answer: StoredAnswer) -> None:
        records = self.t("idempotency")
        key = (tenant_id, scope, request_id)
        created_at = records.get(key, (0.0, None))[0]
        records[key] = (created_at, answer)


class MemoryAudit(_Repo):
    async def record(self, event: AuditEvent) -> None:
        audit = self.t("audit")
        audit[len(audit)] = event


class MemoryDeliveries(_Repo):
    async def record_delivery(
        self, session: VerificationSession, result: DeliveryResult, at: float
    ) -> None:
        deliveries = self.t("deliveries")
        deliveries[len(deliveries)] = (session.id, result)


class MemoryOutbox(_Repo):
    async def add(self, entry: OutboxEntry) -> str:
        outbox = self.t("outbox")
        message_id = str(uuid.uuid4())
        outbox[len(outbox)] = replace(entry)
        return message_id


class MemoryTenants(_Repo):
    """Tenants a test put in ``MemoryDatabase.table("tenants")``, by id."""

    async def get(self, tenant_id: str) -> Tenant | None:
        found: Tenant | None = self.t("tenants").get(tenant_id)
        return found


class MemoryUnitOfWork:
    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self._working: dict[str, dict[Any, Any]] | None = None
        self.sessions = MemorySessions(self)
        self.counters = MemoryCounters(self)
        self.guard = MemoryGuard(self)
        self.guard_admin = MemoryGuardAdmin(self)
        self.idempotency = MemoryIdempotency(self)
        self.audit = MemoryAudit(self)
        self.deliveries = MemoryDeliveries(self)
        self.outbox = MemoryOutbox(self)
        self.tenants = MemoryTenants(self)

    def table(self, name: str) -> dict[Any, Any]:
        if self._working is None:
            raise RuntimeError("the unit of work is not open")
        if name not in self._working:
            self._working[name] = dict(self.db.table(name))
        return self._working[name]

    async def __aenter__(self) -> Self:
        await self.db.lock.acquire()
        self._working = {}
        return self

    async def commit(self) -> None:
        if self._working is None:
            raise RuntimeError("the unit of work is not open")
        self.db.tables.update(self._working)
        self.db.commits += 1
        self._working = None
        self.db.lock.release()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._working is not None:
            self._working = None
            self.db.lock.release()


class RecordingCourier:
    """Delivers nothing; keeps every message so a test can read the code back.

    ``outbox=True`` makes it keep sandbox messages in the outbox, inside the caller's
    unit of work, as the real courier does."""

    def __init__(self, fail: bool = False, outbox: bool = False) -> None:
        self.messages: list[OutgoingMessage] = []
        self.fail = fail
        self.outbox = outbox

    async def outbox_entry(
        self, message: OutgoingMessage, tenants: TenantRepository
    ) -> OutboxEntry | None:
        if not self.outbox or self.fail:
            return None
        self.messages.append(message)
        return OutboxEntry(
            tenant_id=message.tenant_id,
            environment=str(message.environment),
            channel=str(message.channel),
            destination=message.destination.value,
            subject=None,
            body=f"code {message.code}",
            created_at=message.now,
        )

    async def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        self.messages.append(message)
        if self.fail:
            return DeliveryResult(ok=False, provider="recording", status_code=503, error="down")
        return DeliveryResult(
            ok=True,
            provider="recording",
            status_code=200,
            provider_message_id=f"rec-{len(self.messages)}",
        )

    def last_code(self) -> str:
        return self.messages[-1].code


class MemoryLimiter:
    """An outside limiter (what Redis is) kept in a dict; ``down`` makes it unreachable."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}
        self.down = False

    async def hit(
        self, key: str, limit: int, window_seconds: int, now: float
    ) -> RateDecision | None:
        if self.down:
            return None
        window = int(now // window_seconds)
        count = self.counts.get((key, window), 0) + 1
        self.counts[(key, window)] = count
        retry_after = math.ceil((window + 1) * window_seconds - now)
        return RateDecision(allowed=count <= limit, retry_after=retry_after, count=count)
