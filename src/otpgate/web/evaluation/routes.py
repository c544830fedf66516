"""``/api/evaluation``: POST starts, PATCH verifies/resends/resumes/completes, GET reads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from otpgate.core import branding, sandbox
from otpgate.core.errors import InvalidInput
from otpgate.core.model import Channel, Principal
from otpgate.core.uow import StoredAnswer
from otpgate.destinations import parse_contact
from otpgate.flows.evaluation.ids import check_eval_id
from otpgate.flows.evaluation.review import StateChange
from otpgate.flows.evaluation.service import PatchAction, PatchResult, StartEvaluation
from otpgate.services import Services
from otpgate.web.auth import api_key
from otpgate.web.errors import HOUSE
from otpgate.web.evaluation import errors
from otpgate.web.evaluation.schemas import (
    ErrorResponse,
    EvalId,
    EvaluationPatch,
    EvaluationRequest,
    EvaluationResponse,
    EvaluationStateUpdate,
)
from otpgate.web.evaluation.translate import PATCH_ANSWERS, evaluation_body, wire_status
from otpgate.web.fastlane import HotRoute
from otpgate.web.routing import WebApi, json_text

EVALUATION = WebApi(
    name="Evaluation",
    errors=HOUSE,
    render=errors.render,
    invalid=errors.invalid,
    echo_header="X-API-Version",
)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 409, 413, 429)
}
router = APIRouter(
    prefix="/api/evaluation", route_class=EVALUATION.route_class(), tags=["evaluation"]
)


@router.post("", response_model=EvaluationResponse, responses=ERRORS)
async def start_evaluation(
    body: EvaluationRequest, request: Request, principal: Principal = Depends(api_key)
) -> JSONResponse:
    services: Services = request.app.state.services  # not services_of(): the hot path
    ind = body.data.individual
    tenant = principal.tenant
    contact = parse_contact(
        ind.phone_number,
        ind.email,
        phone_field="data.individual.phone_number",
        email_field="data.individual.email",
        allow_magic=sandbox.takes_magic_numbers(principal.environment),
    )
    channel = Channel(ind.otp.channel) if ind.otp and ind.otp.channel else None
    view = await services.evaluations.start(
        StartEvaluation(
            tenant_id=tenant.id,
            environment=principal.environment,
            client_id=body.id,
            workflow=body.workflow,
            phone=contact.phone,
            email=contact.email,
            channel=channel,
            individual=ind.details(),
            locale=ind.locale,
            default_locale=tenant.default_locale,
            brand=branding.message_brand(tenant, services.settings.brand),
            ip_address=body.data.ip_address,
        )
    )
    return JSONResponse(evaluation_body(view))


@router.get("/{eval_id}", response_model=EvaluationResponse, responses=ERRORS)
async def get_evaluation(
    eval_id: EvalId, request: Request, principal: Principal = Depends(api_key)
) -> JSONResponse:
    services: Services = request.app.state.services
    view = await services.evaluations.get(
        principal.tenant.id, check_eval_id(eval_id), principal.environment
    )
    return JSONResponse(evaluation_body(view))


@router.patch("/{eval_id}", response_model=EvaluationResponse, responses=ERRORS)
async def patch_evaluation(
    eval_id: EvalId,
    body: EvaluationPatch,
    request: Request,
    principal: Principal = Depends(api_key),
) -> Response:
    eval_id = check_eval_id(eval_id)
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
        return StoredAnswer(status, payload, json_text(payload))

    services: Services = request.app.state.services
    stored = await services.evaluations.patch(
        principal.tenant.id, eval_id, body.id, action, answer, principal.environment
    )
    if stored.encoded is None:  # a repeat of the request id: its answer as stored
        return JSONResponse(stored.body, status_code=stored.status_code)
    return Response(stored.encoded.encode(), stored.status_code, media_type="application/json")


@router.put("/{eval_id}/state", response_model=EvaluationResponse, responses=ERRORS)
async def set_evaluation_state(
    eval_id: EvalId,
    body: EvaluationStateUpdate,
    request: Request,
    principal: Principal = Depends(api_key),
) -> JSONResponse:
    """Manual review: set the decision, status and sub-status of an evaluation that is not
    waiting for a code (409 while it is)."""
    eval_id = check_eval_id(eval_id)
    if body.attachments:
        raise InvalidInput("attachments", "otpgate stores no attachments; put it in notes")
    change = StateChange(
        workflow=body.workflow,
        decision=body.decision.strip().upper(),
        status=wire_status(body.status),
        sub_status=body.sub_status.strip() if body.sub_status else None,
        notes=body.notes,
    )
    services: Services = request.app.state.services
    view = await services.evaluations.set_state(
        principal.tenant.id, eval_id, change, principal.environment
    )
    return JSONResponse(evaluation_body(view))


# The three calls of every verification, on the fast lane (web/fastlane.py): the same
# functions, authenticated the same way, without FastAPI's per-request machinery.
async def _hot_start(request: Request, body: EvaluationRequest) -> Response:
    return await start_evaluation(body, request, await api_key(request))


async def _hot_get(request: Request, _body: None) -> Response:
    principal = await api_key(request)
    return await get_evaluation(request.path_params["eval_id"], request, principal)


async def _hot_patch(request: Request, body: EvaluationPatch) -> Response:
    principal = await api_key(request)
    return await patch_evaluation(request.path_params["eval_id"], body, request, principal)


HOT = (
    HotRoute("POST", "/api/evaluation", EVALUATION, _hot_start, EvaluationRequest),
    HotRoute("GET", "/api/evaluation/{eval_id}", EVALUATION, _hot_get),
    HotRoute("PATCH", "/api/evaluation/{eval_id}", EVALUATION, _hot_patch, EvaluationPatch),
)
