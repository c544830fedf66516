"""Manual review: a reviewer sets an evaluation's decision and status (``PUT …/state``).

The rule, applied by :meth:`EvaluationService.set_state`:

- only an evaluation that is not waiting for a code can be set (a code in flight is
  verified, resent or resumed first); otherwise ``Conflict``;
- ``decision`` is one otpgate's workflows make (ACCEPT, REVIEW, REJECT), ``status`` one of
  OPEN, ON_HOLD, CLOSED; ``sub_status`` defaults by status and decision;
- nobody but otpgate puts an evaluation back to waiting for a code, and only a workflow
  with a personal-details step can be held for "More information needed";
- ``notes``, when given, replace the evaluation's notes (kept with it, answered in its
  ``notes``); left out, the notes stay as they were;
- the change is audited (``state_set``: before and after, and whether the notes changed,
  not their text: the audit trail outlives the evaluation's personal data) in the unit of
  work that writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from otpgate.core.errors import InvalidInput
from otpgate.flows.evaluation.definitions import DECISIONS, Workflow
from otpgate.flows.evaluation.records import EvalStatus, Evaluation
from otpgate.flows.evaluation.states import EvaluationState, state_of

STATUSES = ("OPEN", "ON_HOLD", "CLOSED")
EVAL_STATUS = {
    "OPEN": EvalStatus.IN_PROGRESS,
    "ON_HOLD": EvalStatus.PAUSED,
    "CLOSED": EvalStatus.COMPLETED,
}
CLOSED_SUB_STATUS = {"ACCEPT": "Approve", "REVIEW": "Under Review", "REJECT": "Decline"}


@dataclass(frozen=True, slots=True)
class StateChange:
    decision: str
    status: str
    workflow: str | None = None
    sub_status: str | None = None
    notes: str | None = None


def _sub_status(change: StateChange) -> str:
    if change.sub_status:
        return change.sub_status
    if change.status == "CLOSED":
        return CLOSED_SUB_STATUS[change.decision]
    return "In Review" if change.status == "OPEN" else "On Hold"


def reviewed(ev: Evaluation, wf: Workflow, change: StateChange, now: float) -> Evaluation:
    """``ev`` with the reviewer's decision and status; ``InvalidInput`` naming the field."""
    if change.decision not in DECISIONS:
        raise InvalidInput(
            "decision",
            f"decision {change.decision!r} is not one otpgate makes: use ACCEPT, REVIEW or REJECT",
        )
    if change.status not in STATUSES:
        raise InvalidInput(
            "status", f"status {change.status!r} is not OPEN, ON HOLD (ON_HOLD) or CLOSED"
        )
    sub_status = _sub_status(change)
    target = state_of(change.status, sub_status)
    if target is EvaluationState.AWAITING_CODE:
        raise InvalidInput("sub_status", "only otpgate holds an evaluation for an OTP code")
    if target is EvaluationState.AWAITING_DETAILS and wf.pii is None:
        raise InvalidInput("sub_status", f"workflow {ev.workflow!r} asks for no personal details")
    return replace(
        ev,
        status=change.status,
        sub_status=sub_status,
        decision=change.decision,
        eval_status=EVAL_STATUS[change.status],
        review_queues=("Default Queue",) if change.decision == "REVIEW" else (),
        ended_at=now,
        decision_at=now,
        notes=ev.notes if change.notes is None else change.notes,
    )
