"""``/api/evaluation``: POST starts, PATCH verifies/resends/resumes/completes, GET reads."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from otpgate.core.errors import InvalidInput, OtpError
from otpgate.core.model import Channel, Environment, Principal
from otpgate.core.uow import StoredAnswer
from otpgate.destinations import parse_email, parse_phone
from otpgate.flows.evaluation.review import StateChange
from otpgate.flows.evaluation.service import (
    PatchAction,
    PatchConflict,
    PatchResult,
    StartEvaluation,
)
from otpgate.services import Services
from otpgate.web.auth import require_key
from otpgate.web.evaluation.schemas import (
    ErrorResponse,
    EvalId,
    EvaluationPatch,
    EvaluationRequest,
    EvaluationResponse,
    EvaluationStateUpdate,
)
from otpgate.web.evaluation.translate import (
    PATCH_ANSWERS,
    Answered,
    error_response,
    evaluation_body,
    validation_response,
    wire_status,
)


class EvaluationRoute(APIRoute):
    """Maps core errors and validation failures to this API's error bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except Answered as exc:
                response = exc.response
            except RequestValidationError as exc:
                response = validation_response(exc)
            except OtpError as exc:
                response = error_response(exc)
            version = request.headers.get("x-api-version")
            if version and len(version) <= 64 and version.isprintable():
                response.headers["X-API-Version"] = version
            return response

        return guarded


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 409, 413, 429)
}
router = APIRouter(prefix="/api/evaluation", route_class=EvaluationRoute, tags=["evaluation"])


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _eval_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise InvalidInput("eval_id", "eval_id must be a UUID") from exc


@router.post("", response_model=EvaluationResponse, responses=ERRORS)
async def start_evaluation(
    body: EvaluationRequest, request: Request, principal: Principal = Depends(require_key)
) -> JSONResponse:
    services = _services(request)
    ind = body.data.individual
    sandbox = principal.environment is Environment.SANDBOX
    phone = (
        parse_phone(ind.phone_number, "data.individual.phone_number", allow_magic=sandbox)
        if ind.phone_number is not None
        else None
    )
    email = parse_email(ind.email, "data.individual.email") if ind.email is not None else None
    channel = Channel(ind.otp.channel) if ind.otp and ind.otp.channel else None
    view = await services.evaluations.start(
        StartEvaluation(
            tenant_id=principal.tenant.id,
            environment=principal.environment,
            client_id=body.id,
            workflow=body.workflow,
            phone=phone,
            email=email,
            channel=channel,
            individual=ind.details(),
            locale=ind.locale,
            default_locale=principal.tenant.default_locale,
            brand=principal.tenant.brand or services.settings.brand,
            ip_address=body.data.ip_address,
        )
    )
    return JSONResponse(evaluation_body(view))


@router.get("/{eval_id}", response_model=EvaluationResponse, responses=ERRORS)
async def get_evaluation(
    eval_id: EvalId, request: Request, principal: Principal = Depends(require_key)
) -> JSONResponse:
    view = await _services(request).evaluations.get(
        principal.tenant.id, _eval_id(eval_id), principal.environment
    )
    return JSONResponse(evaluation_body(view))


@router.patch("/{eval_id}", response_model=EvaluationResponse, responses=ERRORS)
async def patch_evaluation(
    eval_id: EvalId,
    body: EvaluationPatch,
    request: Request,
    principal: Principal = Depends(require_key),
) -> JSONResponse:
    eval_id = _eval_id(eval_id)
    ind = body.data.individual if body.data else None
    otp = ind.otp if ind else None
    action = PatchAction(
        workflow=body.workflow,
        code=otp.code if otp else None,
        resend=bool(otp and otp.resend),
        resume=bool(body.actions and body.actions.resume),
        details=ind.details() if ind else {},
    )

    def answer(result: PatchResult) -> StoredAnswer:
        status, msg = PATCH_ANSWERS[result.kind]
        payload = evaluation_body(result.view, body.id)
        if msg:
            payload["msg"] = msg
        return StoredAnswer(status, payload)

    try:
        stored = await _services(request).evaluations.patch(
            principal.tenant.id, eval_id, body.id, action, answer, principal.environment
        )
    except PatchConflict as exc:
        extra = evaluation_body(exc.view, body.id) if exc.view is not None else None
        raise Answered(error_response(exc, extra)) from exc
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.put("/{eval_id}/state", response_model=EvaluationResponse, responses=ERRORS)
async def set_evaluation_state(
    eval_id: EvalId,
    body: EvaluationStateUpdate,
    request: Request,
    principal: Principal = Depends(require_key),
) -> JSONResponse:
    """Manual review: set the decision, status and sub-status of an evaluation that is not
    waiting for a code (409 while it is)."""
    eval_id = _eval_id(eval_id)
    if body.attachments:
        raise InvalidInput("attachments", "otpgate stores no attachments; put it in notes")
    change = StateChange(
        workflow=body.workflow,
        decision=body.decision.strip().upper(),
        status=wire_status(body.status),
        sub_status=body.sub_status.strip() if body.sub_status else None,
        notes=body.notes,
    )
    try:
        view = await _services(request).evaluations.set_state(
            principal.tenant.id, eval_id, change, principal.environment
        )
    except PatchConflict as exc:
        extra = evaluation_body(exc.view) if exc.view is not None else None
        raise Answered(error_response(exc, extra)) from exc
    return JSONResponse(evaluation_body(view))
