"""The gateway transaction record, the store port it lives behind, and the unit of work.

A transaction links the caller's opaque tokens (stored as SHA-256 hashes only) to
its tenant and to the core verification session that carries the code. The store is
reached through the request's unit of work (``GatewayUnitOfWork``), so a transaction,
its session and their audit events commit together or not at all.

```mermaid
stateDiagram-v2
    [*] --> pending: code delivered (continuation token issued)
    pending --> passed: right code (final token issued)
    pending --> failed: last attempt used, or code expired (final token issued)
```

Only ``pending`` moves, and only through :data:`TRANSITIONS`: the service asks it before
it finishes a transaction, the memory store applies it (:meth:`Transaction.finished`), and
the SQL store's conditional update (``WHERE state = 'pending'``) is the same rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Protocol

from otpgate.core.model import Environment, Scope
from otpgate.core.states import TransitionTable
from otpgate.core.uow import UnitOfWork


class TransactionState(enum.StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


class FinalOutcome(enum.StrEnum):
    MATCHED = "matched"
    MAX_ATTEMPTS = "max_attempts"
    EXPIRED = "expired"

    @property
    def state(self) -> TransactionState:
        return TransactionState.PASSED if self is FinalOutcome.MATCHED else TransactionState.FAILED


TRANSITIONS = TransitionTable(
    "gateway transaction",
    TransactionState,
    {
        TransactionState.PENDING: {TransactionState.PASSED, TransactionState.FAILED},
        TransactionState.PASSED: (),
        TransactionState.FAILED: (),
    },
)


@dataclass(frozen=True, slots=True)
class Transaction:
    id: str
    tenant_id: str
    session_id: str
    service: str
    reference: str | None
    user: str
    company: str
    created_at: float
    environment: Environment
    state: TransactionState = TransactionState.PENDING
    outcome: FinalOutcome | None = None
    confirmation: int | None = None
    finished_at: float | None = None

    def finished(self, outcome: FinalOutcome, confirmation: int, at: float) -> Transaction:
        """This transaction closed with ``outcome``; ``IllegalTransition`` unless pending."""
        return replace(
            self,
            state=TRANSITIONS.move(self.state, outcome.state),
            outcome=outcome,
            confirmation=confirmation,
            finished_at=at,
        )


class TransactionStore(Protocol):
    async def create(self, transaction: Transaction, token_hash: str) -> None: ...

    async def lock_pending(self, token_hash: str, scope: Scope | None = None) -> Transaction | None:
        """The *pending* transaction whose continuation token hashes to ``token_hash``,
        locked until this unit of work ends; ``None`` if there is none (or no longer),
        or if it lies outside ``scope`` (the caller's tenant and environment, when the
        caller sent credentials).

        On a database this is one ``UPDATE … WHERE token_hash = … AND state = 'pending'
        RETURNING``: a concurrent check of the same transaction waits for this unit of work
        to end and then reads the transaction as it now stands, as a later request would.
        """
        ...

    async def by_final_token(
        self, final_token_hash: str, scope: Scope | None = None
    ) -> Transaction | None: ...

    async def finish(
        self,
        transaction_id: str,
        outcome: FinalOutcome,
        final_token_hash: str,
        confirmation: int,
        at: float,
    ) -> bool:
        """Close a pending transaction; ``False`` if it was no longer pending."""
        ...


class GatewayUnitOfWork(UnitOfWork, Protocol):
    @property
    def gateway(self) -> TransactionStore: ...


class GatewayUnitOfWorkFactory(Protocol):
    """``factory()`` → a write unit of work; ``factory.reading()`` → a read-only one."""

    def __call__(self) -> GatewayUnitOfWork: ...

    def reading(self) -> GatewayUnitOfWork: ...
