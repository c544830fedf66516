"""The in-memory gateway transaction store, for tests of the gateway (see ``core/memory.py``).

Rows live in the unit of work's ``gateway_transactions`` table as ``(transaction,
token_hash, final_token_hash)``; memory units of work are serial, so the lock that
:meth:`MemoryTransactions.lock_pending` promises is the unit of work's own.
"""

from __future__ import annotations

from otpgate.core.memory import MemoryUnitOfWork
from otpgate.core.model import Scope
from otpgate.flows.phonematch.records import (
    TRANSITIONS,
    FinalOutcome,
    Transaction,
    TransactionState,
)

_Row = tuple[Transaction, str, str | None]


class MemoryTransactions:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def _rows(self) -> dict[str, _Row]:
        return self.uow.table("gateway_transactions")

    async def create(self, transaction: Transaction, token_hash: str) -> None:
        rows = self._rows()
        if transaction.id in rows or any(r[1] == token_hash for r in rows.values()):
            raise ValueError("duplicate gateway transaction")
        rows[transaction.id] = (transaction, token_hash, None)

    async def lock_pending(self, token_hash: str, scope: Scope | None = None) -> Transaction | None:
        for transaction, token, _ in self._rows().values():
            if token == token_hash:
                if not _within(transaction, scope):
                    return None
                return transaction if transaction.state is TransactionState.PENDING else None
        return None

    async def by_final_token(
        self, final_token_hash: str, scope: Scope | None = None
    ) -> Transaction | None:
        for transaction, _, final in self._rows().values():
            if final is not None and final == final_token_hash:
                return transaction if _within(transaction, scope) else None
        return None

    async def finish(
        self,
        transaction_id: str,
        outcome: FinalOutcome,
        final_token_hash: str,
        confirmation: int,
        at: float,
    ) -> bool:
        rows = self._rows()
        found = rows.get(transaction_id)
        if found is None or not TRANSITIONS.allows(found[0].state, outcome.state):
            return False
        transaction, token_hash, _ = found
        finished = transaction.finished(outcome, confirmation, at)
        rows[transaction_id] = (finished, token_hash, final_token_hash)
        return True


def _within(transaction: Transaction, scope: Scope | None) -> bool:
    return scope is None or scope.holds(transaction.tenant_id, transaction.environment)
