"""Request ids a client chose, with the answer each got: the double-submit guard.

The claim is an ``INSERT … ON CONFLICT DO NOTHING`` in the request's own transaction.
On PostgreSQL a concurrent duplicate's insert waits on the first one's row until that
transaction ends, then reads its answer; on SQLite write transactions are serial, so
the duplicate simply comes after. A reservation holds no answer only while its request
awaits a delivery provider between its two transactions; one older than the caller's
``stale_before`` was left by a request that died, and is taken over.
"""

from __future__ import annotations

from otpgate.adapters.sql.database import Transaction
from otpgate.adapters.sql.sealed import Sealer
from otpgate.core.uow import Claim, StoredAnswer

_CLAIM = (
    "INSERT INTO idempotency_records (tenant_id, scope, request_id, created_at)"
    " VALUES (:tenant_id, :scope, :request_id, :now)"
    " ON CONFLICT (tenant_id, scope, request_id) DO NOTHING"
)
_READ = (
    "SELECT status_code, body, created_at FROM idempotency_records"
    " WHERE tenant_id = :tenant_id AND scope = :scope AND request_id = :request_id"
)
_TAKE_OVER = (
    "UPDATE idempotency_records SET created_at = :now"
    " WHERE tenant_id = :tenant_id AND scope = :scope AND request_id = :request_id"
    " AND status_code IS NULL AND created_at < :stale_before"
)
_SAVE = (
    "UPDATE idempotency_records SET status_code = :status_code, body = :body"
    " WHERE tenant_id = :tenant_id AND scope = :scope AND request_id = :request_id"
)


class SqlIdempotency:
    """A stored answer may repeat what the request carried (an evaluation's personal
    details): it is kept sealed (``sealed.py``)."""

    __slots__ = ("sealer", "tx")

    def __init__(self, tx: Transaction, sealer: Sealer) -> None:
        self.tx = tx
        self.sealer = sealer

    async def claim(
        self, tenant_id: str, scope: str, request_id: str, now: float, stale_before: float
    ) -> Claim:
        key = {"tenant_id": tenant_id, "scope": scope, "request_id": request_id}
        if await self.tx.execute(_CLAIM, {**key, "now": now}) == 1:
            return Claim(won=True)
        row = await self.tx.fetchrow(_READ, key)
        if row is None:  # removed meanwhile (the purge): ours now
            await self.tx.execute(_CLAIM, {**key, "now": now})
            return Claim(won=True)
        if row["status_code"] is not None:
            parsed = self.sealer.open_json(row["body"])
            return Claim(won=False, answer=StoredAnswer(int(row["status_code"]), parsed))
        params = {**key, "now": now, "stale_before": stale_before}
        if await self.tx.execute(_TAKE_OVER, params) == 1:
            return Claim(won=True)
        return Claim(won=False)

    async def save(self, tenant_id: str, scope: str, request_id: str, answer: StoredAnswer) -> None:
        await self.tx.execute(
            _SAVE,
            {
                "tenant_id": tenant_id,
                "scope": scope,
                "request_id": request_id,
                "status_code": answer.status_code,
                "body": self.sealer.seal_json(answer.body, answer.encoded),
            },
        )
