"""The unit of work: one database transaction per request, and the stores reached through it.

A use case opens one unit of work, reaches every store it touches through it, and
commits once. Leaving the ``async with`` block without :meth:`UnitOfWork.commit` rolls
everything back, audit events included, so an audit event exists exactly when the
change it records does.

```python
async with uow_factory() as uow:
    attempts = await uow.sessions.claim_attempt(session_id, now)
    ...
    await uow.commit()
```

Rules every implementation keeps (the contract suite in ``tests/contract`` checks them
on memory, SQLite and PostgreSQL):

- a unit of work is one transaction: nothing it wrote is visible to another before
  :meth:`commit`, and all of it is, after;
- nothing inside a unit of work waits on the network: callers talk to Redis before it
  opens and to delivery providers after it commits (the one exception, the sandbox
  outbox, is a table in this same transaction);
- conditional writes (:meth:`SessionRepository.claim_attempt`,
  :meth:`SessionRepository.transition`, :meth:`IdempotencyRepository.claim`) are atomic
  against every other unit of work of every process.

Front-ends and flows extend :class:`UnitOfWork` with their own stores (evaluations,
gateway transactions, sponsors) in their own modules; the core knows only its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from otpgate.core.guard_types import GuardScope, ListEntry, Screening
from otpgate.core.model import AuditEvent, DeliveryResult, RateDecision, Tenant
from otpgate.core.session import SessionState, VerificationSession


class SessionRepository(Protocol):
    async def create(self, session: VerificationSession) -> None: ...

    async def get(self, tenant_id: str, session_id: str) -> VerificationSession | None:
        """The session if it belongs to ``tenant_id``; otherwise ``None``."""
        ...

    async def claim_attempt(self, session_id: str, now: float) -> VerificationSession | None:
        """Count one attempt on an open session, atomically, and return the session as
        it now stands (attempts included).

        Counts only while the session is pending, unexpired, below its ``max_attempts``
        and its destination is not locked (``lock:<destination_key>`` in the counters);
        returns ``None`` (counting nothing) otherwise. On a database
        the count is one ``UPDATE … WHERE … RETURNING``, and the row stays locked by
        this unit of work until it ends.
        """
        ...

    async def transition(
        self, session_id: str, source: SessionState, target: SessionState, now: float
    ) -> bool:
        """Move the session from ``source`` to ``target``; ``False`` if it was not in ``source``."""
        ...

    async def count_send(self, session_id: str) -> None: ...


class CounterRepository(Protocol):
    """Fixed-window rate counters and lockout deadlines kept in the database."""

    async def hit(self, key: str, limit: int, window_seconds: int, now: float) -> RateDecision:
        """Count one event against ``key``; refuse it once ``limit`` are in the window."""
        ...

    async def lock(self, key: str, until: float) -> None:
        """Lock ``key`` until ``until`` (a later deadline already stored wins)."""
        ...

    async def locked_until(self, key: str, now: float) -> float | None: ...

    async def hit_many(self, tallies: Sequence[tuple[str, int]], now: float) -> list[int]:
        """Count one event against each ``(key, window_seconds)`` (keys distinct), at once;
        return their counts in the same order."""
        ...

    async def counts(
        self, keys: Sequence[str], window_seconds: int, windows: Sequence[int]
    ) -> dict[tuple[str, int], int]:
        """The counts of ``keys`` in the given window numbers, by ``(key, window)``."""
        ...

    async def count(self, key: str, window_seconds: int, now: float) -> int:
        """How many events the database counted against ``key`` in the current window
        (those of a Redis outage, when Redis counts the rest)."""
        ...


class GuardRepository(Protocol):
    """The abuse guard's stored state that every send reads: the operators' allow and
    block lists (per tenant) and the conversion pauses (per tenant and environment)."""

    async def screen(
        self,
        tenant_id: str,
        environment: str,
        entries: Sequence[ListEntry],
        ranges: Sequence[ListEntry],
        now: float,
    ) -> Screening:
        """The tenant's verdicts on any of ``entries``, and the pauses in force (``until``
        after ``now``) on any of ``ranges`` in ``environment``: one indexed query."""
        ...

    async def pause(
        self,
        tenant_id: str,
        environment: str,
        scope: GuardScope,
        value: str,
        until: float,
        now: float,
    ) -> bool:
        """Pause sends to the range until ``until``. ``False``, writing nothing, when a
        pause is already in force there: of concurrent units of work that pause one range,
        exactly one gets ``True``."""
        ...


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """What a request with a client-chosen id answered, kept to answer its repeats."""

    status_code: int
    body: Any
    encoded: str | None = None
    """``body`` as the front-end encodes it for the wire, when it did so already: stored
    as it is and answered as it is, so a first answer is encoded once."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of claiming a request id: ``won`` to go ahead, or what is stored."""

    won: bool
    answer: StoredAnswer | None = None
    """The stored answer of an earlier request with this id; ``None`` while that request
    has not finished (it awaits a delivery provider) or if it never will (a crash)."""


class IdempotencyRepository(Protocol):
    async def claim(
        self, tenant_id: str, scope: str, request_id: str, now: float, stale_before: float
    ) -> Claim:
        """Reserve ``request_id`` in ``scope`` for this unit of work.

        An ``INSERT … ON CONFLICT`` in the request's own transaction: a concurrent
        duplicate waits for the first to end and then reads its answer. A reservation
        without an answer that was made before ``stale_before`` belonged to a request
        that died; it is taken over (``won``), so no request id stays stuck.
        """
        ...

    async def save(
        self, tenant_id: str, scope: str, request_id: str, answer: StoredAnswer
    ) -> None: ...


class AuditLog(Protocol):
    async def record(self, event: AuditEvent) -> None: ...


class DeliveryLog(Protocol):
    async def record_delivery(
        self, session: VerificationSession, result: DeliveryResult, at: float
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    tenant_id: str
    environment: str
    """The environment of the key the message was sent for: a sandbox key reads sandbox
    messages only."""
    channel: str
    destination: str
    subject: str | None
    body: str
    created_at: float


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A kept message, as the outbox API lists it."""

    id: str
    tenant_id: str
    environment: str
    channel: str
    destination: str
    subject: str | None
    body: str
    created_at: float


class OutboxRepository(Protocol):
    async def add(self, entry: OutboxEntry) -> str:
        """Keep the message; return its id."""
        ...


class TenantRepository(Protocol):
    async def get(self, tenant_id: str) -> Tenant | None: ...


class UnitOfWork(Protocol):
    # Read-only properties, so that an implementation's more specific store types fit.
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def counters(self) -> CounterRepository: ...
    @property
    def guard(self) -> GuardRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def deliveries(self) -> DeliveryLog: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def tenants(self) -> TenantRepository: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Makes a new, not yet opened unit of work; ``async with`` opens it."""
