"""The SQL store of PhoneMatch gateway transactions (tokens kept as hashes only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.gateway.records import FinalOutcome, Transaction, TransactionState
from otpgate.storage.tables import gateway_transactions as table


def _row(row: Any) -> Transaction:
    return Transaction(
        id=row.id,
        tenant_id=row.tenant_id,
        session_id=row.session_id,
        service=row.service,
        reference=row.reference,
        user=row.user_name,
        company=row.company,
        created_at=row.created_at,
        state=TransactionState(row.state),
        outcome=FinalOutcome(row.outcome) if row.outcome else None,
        confirmation=row.confirmation,
        finished_at=row.finished_at,
    )


class SqlTransactionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, transaction: Transaction, token_hash: str) -> None:
        t = transaction
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(table).values(
                    id=t.id,
                    tenant_id=t.tenant_id,
                    session_id=t.session_id,
                    service=t.service,
                    reference=t.reference,
                    user_name=t.user,
                    company=t.company,
                    token_hash=token_hash,
                    state=str(t.state),
                    created_at=t.created_at,
                )
            )

    async def _one(self, where: Any) -> Transaction | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(table).where(where))).first()
        return _row(row) if row is not None else None

    async def by_token(self, token_hash: str) -> Transaction | None:
        return await self._one(table.c.token_hash == token_hash)

    async def by_final_token(self, final_token_hash: str) -> Transaction | None:
        return await self._one(table.c.final_token_hash == final_token_hash)

    async def finish(
        self,
        transaction_id: str,
        outcome: FinalOutcome,
        final_token_hash: str,
        confirmation: int,
        at: float,
    ) -> bool:
        stmt = (
            update(table)
            .where(table.c.id == transaction_id, table.c.state == str(TransactionState.PENDING))
            .values(
                state=str(outcome.state),
                outcome=str(outcome),
                final_token_hash=final_token_hash,
                confirmation=confirmation,
                finished_at=at,
            )
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1
