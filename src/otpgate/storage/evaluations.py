"""The SQL evaluation store, with optimistic versioning and append-only enrichments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.core.model import Channel, Environment
from otpgate.storage.lease import begin, read, rowcount, run, write
from otpgate.storage.tables import enrichments, evaluations
from otpgate.workflows.records import Evaluation

# Hot statements are built once (see storage/sessions.py).
_BY_ID = select(evaluations).where(
    evaluations.c.id == bindparam("key"), evaluations.c.tenant_id == bindparam("tenant_id")
)
_BY_CLIENT_ID = select(evaluations).where(
    evaluations.c.client_id == bindparam("key"), evaluations.c.tenant_id == bindparam("tenant_id")
)
_ENRICHMENTS = (
    select(enrichments.c.body)
    .where(enrichments.c.evaluation_id == bindparam("evaluation_id"))
    .order_by(enrichments.c.id)
)
_ADD_ENRICHMENT = insert(enrichments)
_CREATE = insert(evaluations)
_UPDATE = update(evaluations).where(
    evaluations.c.id == bindparam("e_id"), evaluations.c.version == bindparam("e_version")
)


def _values(e: Evaluation) -> dict[str, Any]:
    return {
        "status": e.status,
        "sub_status": e.sub_status,
        "decision": e.decision,
        "eval_status": e.eval_status,
        "tags": list(e.tags),
        "review_queues": list(e.review_queues),
        "session_id": e.session_id,
        "channel": str(e.channel) if e.channel else None,
        "individual": e.individual,
        "ended_at": e.ended_at,
        "decision_at": e.decision_at,
    }


def _load_with_enrichments(
    conn: Connection, stmt: Any, tenant_id: str, key: str
) -> Evaluation | None:
    row = conn.execute(stmt, {"key": key, "tenant_id": tenant_id}).first()
    if row is None:
        return None
    bodies = conn.execute(_ENRICHMENTS, {"evaluation_id": row.id}).scalars().all()
    return Evaluation(
        id=row.id,
        tenant_id=row.tenant_id,
        client_id=row.client_id,
        workflow=row.workflow,
        environment=Environment(row.environment),
        status=row.status,
        sub_status=row.sub_status,
        decision=row.decision,
        eval_status=row.eval_status,
        started_at=row.started_at,
        ended_at=row.ended_at,
        tags=tuple(row.tags),
        review_queues=tuple(row.review_queues),
        session_id=row.session_id,
        channel=Channel(row.channel) if row.channel else None,
        individual=dict(row.individual or {}),
        decision_at=row.decision_at,
        version=row.version,
        enrichments=tuple(bodies),
    )


class SqlEvaluationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, evaluation: Evaluation) -> bool:
        e = evaluation
        try:
            params = {
                "id": e.id,
                "tenant_id": e.tenant_id,
                "client_id": e.client_id,
                "workflow": e.workflow,
                "environment": str(e.environment),
                "started_at": e.started_at,
                "version": e.version,
                **_values(e),
            }
            await write(self.engine, run, _CREATE, params)
        except IntegrityError:
            return False
        return True

    async def _load(self, stmt: Any, tenant_id: str, key: str) -> Evaluation | None:
        return await read(self.engine, _load_with_enrichments, stmt, tenant_id, key)

    async def get(self, tenant_id: str, eval_id: str) -> Evaluation | None:
        return await self._load(_BY_ID, tenant_id, eval_id)

    async def get_by_client_id(self, tenant_id: str, client_id: str) -> Evaluation | None:
        return await self._load(_BY_CLIENT_ID, tenant_id, client_id)

    async def delete(self, eval_id: str) -> None:
        async with begin(self.engine) as conn:
            await conn.execute(delete(enrichments).where(enrichments.c.evaluation_id == eval_id))
            await conn.execute(delete(evaluations).where(evaluations.c.id == eval_id))

    async def update(self, evaluation: Evaluation, expected_version: int) -> bool:
        params = {
            "e_id": evaluation.id,
            "e_version": expected_version,
            "version": expected_version + 1,
            **_values(evaluation),
        }
        return await write(self.engine, rowcount, _UPDATE, params) == 1

    async def add_enrichment(self, eval_id: str, body: dict[str, Any], at: float) -> None:
        params = {"evaluation_id": eval_id, "body": body, "created_at": at}
        await write(self.engine, run, _ADD_ENRICHMENT, params)
