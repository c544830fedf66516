"""The in-memory evaluation store, for tests of the evaluation flow (see ``core/memory.py``)."""

from __future__ import annotations

from dataclasses import replace

from otpgate.core.memory import MemorySessions, MemoryUnitOfWork
from otpgate.core.session import VerificationSession
from otpgate.flows.evaluation.enrichments import Enrichment
from otpgate.flows.evaluation.records import Evaluation


class MemoryEvaluations:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    async def create(self, evaluation: Evaluation) -> bool:
        rows = self.uow.table("evaluations")
        if any(
            e.tenant_id == evaluation.tenant_id and e.client_id == evaluation.client_id
            for e in rows.values()
        ):
            return False
        rows[evaluation.id] = replace(evaluation, enrichments=())
        return True

    def _with_enrichments(self, e: Evaluation | None) -> Evaluation | None:
        if e is None:
            return None
        bodies = self.uow.table("enrichments").get(e.id, ())
        return replace(e, enrichments=tuple(bodies))

    async def get(self, tenant_id: str, eval_id: str) -> Evaluation | None:
        e = self.uow.table("evaluations").get(eval_id)
        return self._with_enrichments(e if e is not None and e.tenant_id == tenant_id else None)

    async def get_with_session(
        self, tenant_id: str, eval_id: str
    ) -> tuple[Evaluation, VerificationSession | None] | None:
        e = await self.get(tenant_id, eval_id)
        if e is None:
            return None
        sessions = MemorySessions(self.uow)
        return e, await sessions.get(tenant_id, e.session_id) if e.session_id else None

    async def get_by_client_id(self, tenant_id: str, client_id: str) -> Evaluation | None:
        for e in self.uow.table("evaluations").values():
            if e.tenant_id == tenant_id and e.client_id == client_id:
                return self._with_enrichments(e)
        return None

    async def update(self, evaluation: Evaluation, expected_version: int) -> bool:
        rows = self.uow.table("evaluations")
        current = rows.get(evaluation.id)
        if current is None or current.version != expected_version:
            return False
        rows[evaluation.id] = replace(evaluation, version=expected_version + 1, enrichments=())
        return True

    async def add_enrichment(self, eval_id: str, body: Enrichment, at: float) -> None:
        table = self.uow.table("enrichments")
        table[eval_id] = (*table.get(eval_id, ()), body)
