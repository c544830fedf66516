"""The evaluation record and the store port it lives behind."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from otpgate.core.model import Channel, Environment, JsonObject
from otpgate.core.session import VerificationSession
from otpgate.core.uow import UnitOfWork
from otpgate.flows.evaluation.enrichments import Enrichment
from otpgate.flows.evaluation.states import EvaluationState, state_of


class EvalStatus(enum.StrEnum):
    """The wire's ``eval_status``: whether the evaluation's workflow is running."""

    PAUSED = "evaluation_paused"
    IN_PROGRESS = "evaluation_in_progress"
    COMPLETED = "evaluation_completed"


@dataclass(frozen=True, slots=True)
class Evaluation:
    id: str
    tenant_id: str
    client_id: str
    workflow: str
    environment: Environment
    status: str
    sub_status: str
    decision: str
    eval_status: EvalStatus
    started_at: float
    ended_at: float
    tags: tuple[str, ...] = ()
    review_queues: tuple[str, ...] = ()
    session_id: str | None = None
    channel: Channel | None = None
    individual: JsonObject = field(default_factory=dict)
    decision_at: float | None = None
    version: int = 1
    enrichments: tuple[Enrichment, ...] = ()
    notes: str | None = None
    """A reviewer's notes (``PUT …/state``): free text that may hold personal data, so it is
    stored sealed like ``individual`` and purged with the evaluation, never audited."""

    @property
    def is_closed(self) -> bool:
        return self.status == "CLOSED"

    @property
    def state(self) -> EvaluationState:
        """What requests it can take (``states.py``), as its status and sub-status say."""
        return state_of(self.status, self.sub_status)


class EvaluationStore(Protocol):
    async def create(self, evaluation: Evaluation) -> bool:
        """Insert; ``False`` if this tenant already used the evaluation's ``client_id``."""
        ...

    async def get(self, tenant_id: str, eval_id: str) -> Evaluation | None: ...

    async def get_with_session(
        self, tenant_id: str, eval_id: str
    ) -> tuple[Evaluation, VerificationSession | None] | None:
        """The evaluation and its session (``None`` if it has none), read together."""
        ...

    async def get_by_client_id(self, tenant_id: str, client_id: str) -> Evaluation | None: ...

    async def update(self, evaluation: Evaluation, expected_version: int) -> bool:
        """Write the evaluation's state if its version is still ``expected_version``."""
        ...

    async def add_enrichment(self, eval_id: str, body: Enrichment, at: float) -> None: ...


class EvaluationUnitOfWork(UnitOfWork, Protocol):
    @property
    def evaluations(self) -> EvaluationStore: ...
