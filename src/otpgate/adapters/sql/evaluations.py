"""Evaluations (versioned rows) and their append-only enrichments, in SQL.

One query reads an evaluation with its enrichments: the evaluation's columns repeat on
each enrichment row of a ``LEFT JOIN``, which both databases run the same way. A GET's
query joins the evaluation's session too: its columns come last (named ``s_…``), and are
read by position from ``_SESSION_AT`` on.
"""

# ruff: noqa: S608 - statements are built from this module's own constant column lists
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from otpgate.adapters.sql.database import Row, Transaction
from otpgate.adapters.sql.sealed import Sealer
from otpgate.adapters.sql.sessions import SESSION_COLUMNS, session_from_row
from otpgate.core.model import Channel, Environment
from otpgate.core.session import VerificationSession
from otpgate.flows.evaluation.enrichments import Enrichment
from otpgate.flows.evaluation.records import EvalStatus, Evaluation

_STATE = (
    "status, sub_status, decision, eval_status, tags, review_queues, session_id, channel,"
    " individual, ended_at, decision_at, notes"
)
_CREATE = (
    "INSERT INTO evaluations (id, tenant_id, client_id, workflow, environment, started_at,"
    f" version, {_STATE}) VALUES (:id, :tenant_id, :client_id, :workflow, :environment,"
    " :started_at, :version, :status, :sub_status, :decision, :eval_status, :tags,"
    " :review_queues, :session_id, :channel, :individual, :ended_at, :decision_at, :notes)"
    " ON CONFLICT (tenant_id, client_id) DO NOTHING"
)
_SELECT = (
    "SELECT e.id, e.tenant_id, e.client_id, e.workflow, e.environment, e.started_at,"
    " e.version, e.status, e.sub_status, e.decision, e.eval_status, e.tags, e.review_queues,"
    " e.session_id, e.channel, e.individual, e.ended_at, e.decision_at, e.notes,"
    " n.body AS enrichment"
    " FROM evaluations e LEFT JOIN evaluation_enrichments n ON n.evaluation_id = e.id"
)
_BY_ID = f"{_SELECT} WHERE e.id = :key AND e.tenant_id = :tenant_id ORDER BY n.id"
_WITH_SESSION = (
    _SELECT.replace(
        " FROM evaluations e",
        ", " + ", ".join(f"s.{c} AS s_{c}" for c in SESSION_COLUMNS) + " FROM evaluations e",
    )
    + " LEFT JOIN verification_sessions s ON s.id = e.session_id AND s.tenant_id = e.tenant_id"
    " WHERE e.id = :key AND e.tenant_id = :tenant_id ORDER BY n.id"
)
_SESSION_AT = _SELECT.split(" FROM ")[0].count(",") + 1  # where its session's columns start
_BY_CLIENT_ID = f"{_SELECT} WHERE e.client_id = :key AND e.tenant_id = :tenant_id ORDER BY n.id"
_UPDATE = (
    "UPDATE evaluations SET version = :version, status = :status, sub_status = :sub_status,"
    " decision = :decision, eval_status = :eval_status, tags = :tags,"
    " review_queues = :review_queues, session_id = :session_id, channel = :channel,"
    " individual = :individual, ended_at = :ended_at, decision_at = :decision_at,"
    " notes = :notes WHERE id = :id AND version = :expected"
)
_ADD_ENRICHMENT = (
    "INSERT INTO evaluation_enrichments (evaluation_id, body, created_at)"
    " VALUES (:evaluation_id, :body, :at)"
)


def _state(e: Evaluation, sealer: Sealer) -> dict[str, Any]:
    return {
        "status": e.status,
        "sub_status": e.sub_status,
        "decision": e.decision,
        "eval_status": e.eval_status,
        "tags": json.dumps(list(e.tags)),
        "review_queues": json.dumps(list(e.review_queues)),
        "session_id": e.session_id,
        "channel": str(e.channel) if e.channel else None,
        "individual": sealer.seal_json(e.individual),
        "ended_at": e.ended_at,
        "decision_at": e.decision_at,
        "notes": sealer.seal_optional(e.notes),
    }


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _from_rows(rows: Sequence[Row], sealer: Sealer) -> Evaluation | None:
    if not rows:
        return None
    row = rows[0]
    return Evaluation(
        id=row["id"],
        tenant_id=row["tenant_id"],
        client_id=row["client_id"],
        workflow=row["workflow"],
        environment=Environment(row["environment"]),
        status=row["status"],
        sub_status=row["sub_status"],
        decision=row["decision"],
        eval_status=EvalStatus(row["eval_status"]),
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        tags=tuple(_json(row["tags"])),
        review_queues=tuple(_json(row["review_queues"])),
        session_id=row["session_id"],
        channel=Channel(row["channel"]) if row["channel"] else None,
        individual=dict(sealer.open_json(row["individual"]) or {}),
        decision_at=row["decision_at"],
        version=row["version"],
        enrichments=tuple(_json(r["enrichment"]) for r in rows if r["enrichment"] is not None),
        notes=sealer.open_optional(row["notes"]),
    )


class SqlEvaluations:
    """``individual`` (the person's details) and ``notes`` (a reviewer's) are stored sealed
    (``sealed.py``)."""

    __slots__ = ("sealer", "tx")

    def __init__(self, tx: Transaction, sealer: Sealer) -> None:
        self.tx = tx
        self.sealer = sealer

    async def create(self, evaluation: Evaluation) -> bool:
        e = evaluation
        params = {
            "id": e.id,
            "tenant_id": e.tenant_id,
            "client_id": e.client_id,
            "workflow": e.workflow,
            "environment": str(e.environment),
            "started_at": e.started_at,
            "version": e.version,
            **_state(e, self.sealer),
        }
        return await self.tx.execute(_CREATE, params) == 1

    async def get(self, tenant_id: str, eval_id: str) -> Evaluation | None:
        rows = await self.tx.fetch(_BY_ID, {"key": eval_id, "tenant_id": tenant_id})
        return _from_rows(rows, self.sealer)

    async def get_with_session(
        self, tenant_id: str, eval_id: str
    ) -> tuple[Evaluation, VerificationSession | None] | None:
        rows = await self.tx.fetch(_WITH_SESSION, {"key": eval_id, "tenant_id": tenant_id})
        ev = _from_rows(rows, self.sealer)
        if ev is None:
            return None
        row = rows[0]
        if row[_SESSION_AT] is None:  # no session (or it was purged)
            return ev, None
        return ev, session_from_row(row, self.sealer, _SESSION_AT)

    async def get_by_client_id(self, tenant_id: str, client_id: str) -> Evaluation | None:
        params = {"key": client_id, "tenant_id": tenant_id}
        return _from_rows(await self.tx.fetch(_BY_CLIENT_ID, params), self.sealer)

    async def update(self, evaluation: Evaluation, expected_version: int) -> bool:
        params = {
            "id": evaluation.id,
            "expected": expected_version,
            "version": expected_version + 1,
            **_state(evaluation, self.sealer),
        }
        return await self.tx.execute(_UPDATE, params) == 1

    async def add_enrichment(self, eval_id: str, body: Enrichment, at: float) -> None:
        params = {"evaluation_id": eval_id, "body": json.dumps(body), "at": at}
        await self.tx.execute(_ADD_ENRICHMENT, params)
