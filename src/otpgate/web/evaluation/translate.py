"""Evaluation results → the evaluation API's bodies (its errors: ``errors.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from otpgate.flows.evaluation.service import EvaluationView, PatchKind

PATCH_ANSWERS: dict[PatchKind, tuple[int, str | None]] = {
    PatchKind.VERIFIED: (200, None),
    PatchKind.RESENT: (200, None),
    PatchKind.RESUMED: (200, None),
    PatchKind.DETAILS: (200, None),
    PatchKind.INVALID_CODE: (400, "Invalid code"),
    PatchKind.MAX_ATTEMPTS: (400, "Invalid code"),
    PatchKind.EXPIRED: (400, "Code expired"),
}


def wire_status(raw: str) -> str:
    """The published document spells the held status ``ON HOLD`` in the PUT request and
    ``ON_HOLD`` in answers: both mean ON_HOLD."""
    return "_".join(raw.strip().upper().split())


def rfc3339(ts: float | None) -> str | None:
    if ts is None:
        return None
    return (
        dt.datetime.fromtimestamp(ts, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def evaluation_body(view: EvaluationView, request_id: str | None = None) -> dict[str, Any]:
    ev, wf, session = view.evaluation, view.workflow, view.session
    return {
        "id": request_id or ev.client_id,
        "eval_id": ev.id,
        "workflow": ev.workflow,
        "workflow_id": wf.id,
        "workflow_version": wf.version,
        "eval_source": "API",
        "eval_start_time": rfc3339(ev.started_at),
        "eval_end_time": rfc3339(ev.ended_at),
        "decision": ev.decision,
        # Always a date-time (the published schema's type): rows written before otpgate
        # set it on held evaluations fall back to the start, their first decision.
        "decision_at": rfc3339(ev.started_at if ev.decision_at is None else ev.decision_at),
        "status": ev.status,
        "sub_status": ev.sub_status,
        "tags": list(ev.tags),
        "notes": ev.notes or "",  # a reviewer's (PUT …/state); empty until one writes some
        "review_queues": list(ev.review_queues),
        "data_enrichments": list(ev.enrichments),
        "eval_status": ev.eval_status,
        "environment_name": ev.environment.display_name,
        "attempts_remaining": session.attempts_remaining if session else None,
        "expires_at": rfc3339(session.expires_at) if session else None,
    }
