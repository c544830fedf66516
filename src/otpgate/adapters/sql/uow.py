"""The SQL unit of work: one transaction, and every store a request touches on it.

It implements the core's :class:`otpgate.core.uow.UnitOfWork` and each flow's extension
of it (evaluations, gateway transactions, sponsors) at once. Audit events and delivery
outcomes are also handed to ``on_commit`` (the metrics) once the transaction has
committed, so nothing that rolled back is ever counted.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from otpgate.adapters.sql.database import Database, Transaction
from otpgate.adapters.sql.evaluations import SqlEvaluations
from otpgate.adapters.sql.gateway import SqlTransactions
from otpgate.adapters.sql.guard import SqlGuard
from otpgate.adapters.sql.guard_admin import SqlGuardAdmin
from otpgate.adapters.sql.idempotency import SqlIdempotency
from otpgate.adapters.sql.limiter import SqlCounters
from otpgate.adapters.sql.outbox import SqlOutbox
from otpgate.adapters.sql.sealed import Sealer
from otpgate.adapters.sql.sessions import SqlAuditLog, SqlDeliveryLog, SqlSessions
from otpgate.adapters.sql.sponsors import SqlChallenges, SqlDirectory
from otpgate.adapters.sql.tenants import SqlTenants
from otpgate.core.model import AuditEvent, DeliveryResult
from otpgate.core.session import VerificationSession

Committed = Callable[[list[AuditEvent], list[tuple[VerificationSession, DeliveryResult]]], None]


class _Audit(SqlAuditLog):
    __slots__ = ("seen",)

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self.seen: list[AuditEvent] = []

    async def record(self, event: AuditEvent) -> None:
        await super().record(event)
        self.seen.append(event)


class _Deliveries(SqlDeliveryLog):
    __slots__ = ("seen",)

    def __init__(self, tx: Transaction) -> None:
        super().__init__(tx)
        self.seen: list[tuple[VerificationSession, DeliveryResult]] = []

    async def record_delivery(
        self, session: VerificationSession, result: DeliveryResult, at: float
    ) -> None:
        await super().record_delivery(session, result, at)
        self.seen.append((session, result))


class SqlUnitOfWork:
    sessions: SqlSessions
    counters: SqlCounters
    guard: SqlGuard
    guard_admin: SqlGuardAdmin
    idempotency: SqlIdempotency
    audit: _Audit
    deliveries: _Deliveries
    outbox: SqlOutbox
    evaluations: SqlEvaluations
    gateway: SqlTransactions
    directory: SqlDirectory
    challenges: SqlChallenges
    tenants: SqlTenants

    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        *,
        write: bool = True,
        on_commit: Committed | None = None,
    ) -> None:
        self._db = db
        self._sealer = sealer
        self._write = write
        self._on_commit = on_commit
        self._tx: Transaction | None = None

    async def __aenter__(self) -> Self:
        tx = self._tx = await self._db.begin(self._write)
        sealer = self._sealer
        self.sessions = SqlSessions(tx, sealer)
        self.counters = SqlCounters(tx)
        self.guard = SqlGuard(tx)
        self.guard_admin = SqlGuardAdmin(tx, sealer)
        self.idempotency = SqlIdempotency(tx, sealer)
        self.audit = _Audit(tx)
        self.deliveries = _Deliveries(tx)
        self.outbox = SqlOutbox(tx, sealer)
        self.evaluations = SqlEvaluations(tx, sealer)
        self.gateway = SqlTransactions(tx, sealer)
        self.directory = SqlDirectory(tx, sealer)
        self.challenges = SqlChallenges(tx)
        self.tenants = SqlTenants(tx)
        return self

    @property
    def transaction(self) -> Transaction:
        assert self._tx is not None, "the unit of work is not open"
        return self._tx

    async def commit(self) -> None:
        tx, self._tx = self._tx, None
        assert tx is not None, "the unit of work is not open"
        await self._db.commit(tx)
        if self._on_commit is not None:
            self._on_commit(self.audit.seen, self.deliveries.seen)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            await self._db.rollback(tx)


class SqlUnitOfWorkFactory:
    """``factory()`` → a write unit of work; ``factory.reading()`` → a read-only one.

    ``sealer`` seals destinations and personal details before they are stored."""

    def __init__(self, db: Database, sealer: Sealer, on_commit: Committed | None = None) -> None:
        self.db = db
        self.sealer = sealer
        self.on_commit = on_commit

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db, self.sealer, on_commit=self.on_commit)

    def reading(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db, self.sealer, write=False)
