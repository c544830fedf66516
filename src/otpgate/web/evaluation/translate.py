"""Core results and errors → the evaluation API's HTTP answers, in one table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from otpgate.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OtpError,
    RateLimited,
    Unauthorized,
)
from otpgate.flows.evaluation.service import EvaluationView, PatchKind
from otpgate.web.wire import field_name

STATUS_FOR_ERROR: dict[type[OtpError], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
}

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


def _status_for(exc: OtpError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_FOR_ERROR:
            return STATUS_FOR_ERROR[cls]
    return 400


def error_response(exc: OtpError, extra: dict[str, Any] | None = None) -> JSONResponse:
    status = _status_for(exc)
    body: dict[str, Any] = {**(extra or {}), "msg": exc.message}
    headers = {}
    if isinstance(exc, InvalidInput):
        body["field"] = exc.field
    if isinstance(exc, RateLimited):
        body["retry_after"] = exc.retry_after
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    return field_name(loc)


def validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request", "type": ""}
    if first.get("type") == "json_invalid" or (
        tuple(first.get("loc", ())) == ("body",) and first.get("type") == "model_attributes_type"
    ):
        return JSONResponse(
            {"msg": "the request body must be a JSON object", "field": "body"}, status_code=400
        )
    field = _field(tuple(first.get("loc", ())))
    if first.get("type") == "missing":
        msg = f"{field} is required"
    else:
        msg = f"{field}: {str(first.get('msg', 'invalid value')).removeprefix('Value error, ')}"
    return JSONResponse({"msg": msg, "field": field}, status_code=400)


class Answered(Exception):
    """A fully formed error answer; not stored as the request's idempotent response."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__("answered")
        self.response = response
