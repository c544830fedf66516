"""The gateway transaction record and the store port it lives behind.

A transaction links the caller's opaque tokens (stored as SHA-256 hashes only) to
its tenant and to the core verification session that carries the code.

```mermaid
stateDiagram-v2
    [*] --> pending: code delivered (continuation token issued)
    pending --> passed: right code (final token issued)
    pending --> failed: last attempt used, or code expired (final token issued)
```
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


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
    state: TransactionState = TransactionState.PENDING
    outcome: FinalOutcome | None = None
    confirmation: int | None = None
    finished_at: float | None = None


class TransactionStore(Protocol):
    async def create(self, transaction: Transaction, token_hash: str) -> None: ...

    async def by_token(self, token_hash: str) -> Transaction | None:
        """The transaction whose continuation token hashes to ``token_hash``."""
        ...

    async def by_final_token(self, final_token_hash: str) -> Transaction | None: ...

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
