"""The demo page at ``/`` and its thin backend under ``/demo/api``.

The page speaks the evaluation API's own request and response bodies. The backend only
adds the demo tenant's sandbox key and forwards to the real handlers in-process, so the
page exercises the real contract and the key never reaches the browser:

=====================================  ==============================================
``GET /`` (and ``/demo``)              the page
``GET /demo/static/{name}``            its script and style sheet
``GET /demo/api/config``               code length, TTL, attempts, lockout (for the UI)
``POST /demo/api/evaluation``          → ``POST /api/evaluation``
``GET|PATCH /demo/api/evaluation/ID``  → ``GET|PATCH /api/evaluation/ID``
``GET /demo/api/inbox/ID``             → ``GET /v1/outbox`` for that evaluation's
                                       destination (demo tenant only)
=====================================  ==============================================

Turn it off with ``OTPGATE_DEMO_ENABLED=false`` (every route then answers 404).
"""

from __future__ import annotations

import uuid
from importlib import resources

import httpx
import structlog
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from otpgate.core import sandbox
from otpgate.core.errors import InvalidInput
from otpgate.flows.evaluation.ids import check_eval_id
from otpgate.web.demo.backend import demo_account
from otpgate.web.errors import HOUSE, house_render
from otpgate.web.routing import WebApi, services_of
from otpgate.web.validation import Problem

STATIC_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
FORWARDED_HEADERS = ("retry-after", "x-api-version")
INBOX_LIMIT = 20


def _require_demo(request: Request) -> None:
    if not request.app.state.settings.demo_enabled:
        raise HTTPException(404, "the demo page is turned off (OTPGATE_DEMO_ENABLED=false)")


def _no_rewording(problem: Problem) -> InvalidInput | None:
    """The demo's routes take their bodies as bytes and forward them: nothing to word."""
    return None


DEMO = WebApi(name="Demo", errors=HOUSE, render=house_render, invalid=_no_rewording)
router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(_require_demo)],
    route_class=DEMO.route_class(),
)


def _static(name: str) -> str:
    return resources.files("otpgate.web.demo").joinpath("static", name).read_text(encoding="utf-8")


@router.get("/")
@router.get("/demo")
async def page() -> HTMLResponse:
    return HTMLResponse(_static("index.html"), headers=PAGE_HEADERS)


@router.get("/demo/static/{name}")
async def static(name: str) -> Response:
    media_type = STATIC_TYPES.get(name)
    if media_type is None:
        raise HTTPException(404, "no such file")
    return Response(_static(name), media_type=media_type, headers=PAGE_HEADERS)


@router.get("/demo/api/config")
async def config(request: Request) -> JSONResponse:
    policy = services_of(request).settings.policy()
    return JSONResponse(
        {
            "environment_name": "Sandbox",
            "code_length": policy.code_length,
            "ttl_seconds": policy.ttl_seconds,
            "max_attempts": policy.max_attempts,
            "lockout_seconds": policy.lockout_seconds,
            "failing_phone": sandbox.FAILING_PHONE,
            "invalid_code": sandbox.INVALID_CODE_CHAR * policy.code_length,
        }
    )


async def _forward(
    request: Request,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    params: dict[str, str | int] | None = None,
) -> Response:
    """Send the request to otpgate's own API with the demo key; return its answer as is."""
    demo = await demo_account(services_of(request)).key()
    request_id = str(getattr(request.state, "request_id", "")) or uuid.uuid4().hex
    headers = {"Authorization": f"Bearer {demo.key}", "X-Request-ID": request_id}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if version := request.headers.get("x-api-version"):
        headers["X-API-Version"] = version
    transport = httpx.ASGITransport(app=request.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://otpgate.demo") as client:
        upstream = await client.request(method, path, content=body, params=params, headers=headers)
    # The inner request unbound the id from the logging context; put it back.
    structlog.contextvars.bind_contextvars(request_id=request_id)
    return Response(
        upstream.content,
        status_code=upstream.status_code,
        media_type=upstream.headers.get("content-type", "application/json"),
        headers={h: upstream.headers[h] for h in FORWARDED_HEADERS if h in upstream.headers},
    )


async def _throttle(request: Request) -> None:
    """The demo's routes need no key, so each client address gets a few writes a minute
    (``OTPGATE_DEMO_WRITES_PER_MINUTE``): enough to try the page, not to flood the store."""
    services = services_of(request)
    client = request.client.host if request.client else "unknown"
    limit = services.settings.demo_writes_per_minute
    decision = await demo_account(services).writes.hit(f"demo:{client}", limit, 60)
    if not decision.allowed:
        raise Throttled(decision.retry_after)


class Throttled(HTTPException):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "too many requests from this address; try again shortly",
            headers={"Retry-After": str(max(1, retry_after))},
        )


@router.post("/demo/api/evaluation", dependencies=[Depends(_throttle)])
async def start(request: Request) -> Response:
    return await _forward(request, "POST", "/api/evaluation", body=await request.body())


@router.get("/demo/api/evaluation/{eval_id}")
async def read(eval_id: str, request: Request) -> Response:
    return await _forward(request, "GET", f"/api/evaluation/{check_eval_id(eval_id)}")


@router.patch("/demo/api/evaluation/{eval_id}", dependencies=[Depends(_throttle)])
async def patch(eval_id: str, request: Request) -> Response:
    path = f"/api/evaluation/{check_eval_id(eval_id)}"
    return await _forward(request, "PATCH", path, body=await request.body())


@router.get("/demo/api/inbox/{eval_id}")
async def inbox(eval_id: str, request: Request) -> Response:
    """What the outbox holds for the destination of one demo evaluation, newest first."""
    checked = check_eval_id(eval_id)
    services = services_of(request)
    demo = await demo_account(services).key()
    view = await services.evaluations.get(demo.tenant_id, checked)
    session = view.session
    if session is None:
        return JSONResponse({"messages": []})
    params: dict[str, str | int] = {
        "destination": session.destination.value,
        "limit": INBOX_LIMIT,
    }
    return await _forward(request, "GET", "/v1/outbox", params=params)
