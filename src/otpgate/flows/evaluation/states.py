"""The evaluation's state machine.

An evaluation's answer carries four display fields (``status``, ``sub_status``,
``decision``, ``eval_status``: the wire's words, stored as they are). Which requests it
can take depends on one thing they say, its :class:`EvaluationState`; :func:`state_of`
is the one place that reads it off ``status`` and ``sub_status``.

```mermaid
stateDiagram-v2
    [*] --> awaiting_code: POST (a code is sent)
    awaiting_code --> awaiting_code: delivered, wrong code, resend
    awaiting_code --> awaiting_details: right code, personal details missing
    awaiting_code --> closed: right code, resume, expiry, last attempt, undelivered
    awaiting_code --> held: right code or resume, if the workflow's outcome holds it
    awaiting_details --> awaiting_details: details still missing
    awaiting_details --> closed: details complete (decided), resume
    awaiting_details --> held: details complete, if the decision's outcome holds it
```

A reviewer (``PUT …/state``, ``review.py``) may move an evaluation that is
``awaiting_details``, ``held``, ``open`` or ``closed`` to any of those four.

Nothing moves an evaluation back to ``awaiting_code``, and a reviewer cannot touch one
that waits for its code (``review.py``). Every write of an evaluation's state goes
through :data:`TRANSITIONS` (``EvaluationService._save`` and ``set_state``).
"""

from __future__ import annotations

import enum

from otpgate.core.states import TransitionTable
from otpgate.flows.evaluation.definitions import HOLD, MORE_INFO_SUB_STATUS, PENDING_OTP_SUB_STATUS


class EvaluationState(enum.StrEnum):
    AWAITING_CODE = "awaiting_code"
    """ON_HOLD, "Pending OTP Code": a code was sent and is neither used nor spent."""
    AWAITING_DETAILS = "awaiting_details"
    """ON_HOLD, "More information needed": the workflow's personal-details step."""
    HELD = "held"
    """ON_HOLD for any other reason (a reviewer's hold)."""
    OPEN = "open"
    """OPEN: a reviewer reopened it."""
    CLOSED = "closed"
    """CLOSED: decided (a reviewer may still change the decision)."""


_REVIEWED = (
    EvaluationState.AWAITING_DETAILS,
    EvaluationState.HELD,
    EvaluationState.OPEN,
    EvaluationState.CLOSED,
)

TRANSITIONS = TransitionTable(
    "evaluation",
    EvaluationState,
    {
        EvaluationState.AWAITING_CODE: {
            EvaluationState.AWAITING_CODE,
            EvaluationState.AWAITING_DETAILS,
            EvaluationState.HELD,
            EvaluationState.CLOSED,
        },
        EvaluationState.AWAITING_DETAILS: _REVIEWED,
        EvaluationState.HELD: _REVIEWED,
        EvaluationState.OPEN: _REVIEWED,
        EvaluationState.CLOSED: _REVIEWED,
    },
)


def state_of(status: str, sub_status: str) -> EvaluationState:
    """The state the display fields ``status`` and ``sub_status`` stand for."""
    if status == HOLD:
        if sub_status == PENDING_OTP_SUB_STATUS:
            return EvaluationState.AWAITING_CODE
        if sub_status == MORE_INFO_SUB_STATUS:
            return EvaluationState.AWAITING_DETAILS
        return EvaluationState.HELD
    return EvaluationState.OPEN if status == "OPEN" else EvaluationState.CLOSED
