"""PhoneMatch gateway transactions in SQL (see ``database.py``); tokens kept as hashes only.

A caller that sent credentials reaches only its own tenant's transactions of its key's
environment: the scope is part of each lookup's ``WHERE`` (``NULL``: the token alone).
"""

# Statements are built from constant fragments; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from otpgate.adapters.sql.database import Row
from otpgate.adapters.sql.database import Transaction as SqlTransaction
from otpgate.adapters.sql.sealed import Sealer
from otpgate.core.model import Environment, Scope
from otpgate.flows.phonematch.records import FinalOutcome, Transaction, TransactionState

_CREATE = (
    "INSERT INTO gateway_transactions (id, tenant_id, environment, session_id, service,"
    " reference, user_name, company, token_hash, state, created_at) VALUES (:id, :tenant_id,"
    " :environment, :session_id, :service, :reference, :user_name, :company, :token_hash,"
    " :state, :created_at)"
)
# A lookup that takes the row's lock: a concurrent check of the same transaction waits
# for this one to end, then finds it as it now stands (no longer pending: no row).
_COLUMNS = (
    "id, tenant_id, environment, session_id, service, reference, user_name, company, state,"
    " outcome, confirmation, created_at, finished_at"
)
_IN_SCOPE = (
    " AND (CAST(:tenant_id AS TEXT) IS NULL"
    " OR (tenant_id = :tenant_id AND environment = :environment))"
)
_LOCK_PENDING = (
    "UPDATE gateway_transactions SET state = state"
    f" WHERE token_hash = :token_hash AND state = 'pending'{_IN_SCOPE}"
    f" RETURNING {_COLUMNS}"
)
_BY_FINAL_HASH = (
    f"SELECT {_COLUMNS} FROM gateway_transactions"
    f" WHERE final_token_hash = :final_token_hash{_IN_SCOPE}"
)
_FINISH = (
    "UPDATE gateway_transactions SET state = :state, outcome = :outcome,"
    " final_token_hash = :final_token_hash, confirmation = :confirmation, finished_at = :at"
    " WHERE id = :id AND state = 'pending'"
)


def _transaction(row: Row, sealer: Sealer) -> Transaction:
    return Transaction(
        id=row["id"],
        tenant_id=row["tenant_id"],
        environment=Environment(row["environment"]),
        session_id=row["session_id"],
        service=row["service"],
        reference=sealer.open_optional(row["reference"]),
        user=row["user_name"],
        company=row["company"],
        created_at=row["created_at"],
        state=TransactionState(row["state"]),
        outcome=FinalOutcome(row["outcome"]) if row["outcome"] else None,
        confirmation=row["confirmation"],
        finished_at=row["finished_at"],
    )


def _scope(scope: Scope | None) -> dict[str, str | None]:
    if scope is None:
        return {"tenant_id": None, "environment": None}
    return {"tenant_id": scope.tenant_id, "environment": str(scope.environment)}


class SqlTransactions:
    """The caller's free-text ``reference`` is stored sealed (``sealed.py``)."""

    __slots__ = ("sealer", "tx")

    def __init__(self, tx: SqlTransaction, sealer: Sealer) -> None:
        self.tx = tx
        self.sealer = sealer

    async def create(self, transaction: Transaction, token_hash: str) -> None:
        t = transaction
        await self.tx.execute(
            _CREATE,
            {
                "id": t.id,
                "tenant_id": t.tenant_id,
                "environment": str(t.environment),
                "session_id": t.session_id,
                "service": t.service,
                "reference": self.sealer.seal_optional(t.reference),
                "user_name": t.user,
                "company": t.company,
                "token_hash": token_hash,
                "state": str(t.state),
                "created_at": t.created_at,
            },
        )

    async def lock_pending(self, token_hash: str, scope: Scope | None = None) -> Transaction | None:
        row = await self.tx.fetchrow(_LOCK_PENDING, {"token_hash": token_hash, **_scope(scope)})
        return _transaction(row, self.sealer) if row is not None else None

    async def by_final_token(
        self, final_token_hash: str, scope: Scope | None = None
    ) -> Transaction | None:
        params = {"final_token_hash": final_token_hash, **_scope(scope)}
        row = await self.tx.fetchrow(_BY_FINAL_HASH, params)
        return _transaction(row, self.sealer) if row is not None else None

    async def finish(
        self,
        transaction_id: str,
        outcome: FinalOutcome,
        final_token_hash: str,
        confirmation: int,
        at: float,
    ) -> bool:
        params = {
            "id": transaction_id,
            "state": str(outcome.state),
            "outcome": str(outcome),
            "final_token_hash": final_token_hash,
            "confirmation": confirmation,
            "at": at,
        }
        return await self.tx.execute(_FINISH, params) == 1
