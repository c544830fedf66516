"""The OpenAPI document as otpgate really answers, and ``/docs`` with no network.

``install(app)`` (one line in ``create_app``) does two things:

- Serves Swagger UI and ReDoc from the assets the ``fastapi-offline`` package ships,
  under ``/docs/assets``, instead of FastAPI's CDN links.
- Post-processes ``app.openapi()``: declares the security schemes (Bearer API keys for
  the evaluation, outbox and admin routes; OAuth 2 client credentials for the sponsor
  API; HTTP Basic client authentication at ``/oauth/token``; the gateway carries its
  credentials in the body), replaces FastAPI's generic 422 "HTTPValidationError" by the
  error bodies and statuses each route answers, and documents the enumerations.

It works on whatever routes exist, by path, so routes can change without touching it;
an operation this table does not know keeps what FastAPI generated, less the 422.

The request schemas state the rules the server checks (``web/wire.py``, each API's
``schemas.py``); what only the running app knows is added here: the workflow names of the
catalog it loaded, the operator's aliases among them, and which of them can only reach
a phone (or only an email). Until the app has started, the document is not cached.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from otpgate.flows.evaluation.definitions import Workflow

ASSETS_URL = "/docs/assets"
Schema = dict[str, Any]

EVALUATION_SUB_STATUSES = [
    "Pending OTP Code",
    "More information needed",
    "Approve",
    "Decline",
    "Max attempts reached",
    "Under Review",
]
GATEWAY_DETAILS = {
    "PASS": ["ALL CHECKS PASSED"],
    "PENDING": ["TRANSACTION REQUIRES FURTHER ATTENTION"],
    "FAIL": [
        "SUPPRESSED SENDING CODE",
        "DATA CHECK FAILED",
        "FAILED TO SEND TO NUMBER",
        "FAILED OUT-OF-BAND CHECK",
        "INVALID TOKEN",
        "AUTHENTICATION FAILED",
        "INVALID REQUEST",
        "NOT ALLOWED",
        "TOO MANY REQUESTS",
    ],
}
SPONSOR_ERROR_CODES = {
    "071-201": "malformed request",
    "071-202": "sponsor inactive, or operation not protected by OTP",
    "071-203": "unknown OTP id, sponsor, beneficiary or token",
    "071-204": "OTP already validated",
    "071-205": "OTP or token expired, or OTP invalidated",
    "071-206": "wrong code",
    "071-207": "too many requests",
    "channel_not_supported": "a channel no sponsor offers (VOICE, WHATSAPP), or one the sponsor "
    "or beneficiary lacks",
    "delivery_failed": "every provider failed to deliver",
    "invalid_token": "missing, forged or expired access token",
}
OAUTH_ERRORS = ["invalid_request", "invalid_client", "unsupported_grant_type"]

ERROR_SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "description": "An error of the evaluation, outbox and admin APIs.",
        "properties": {
            "msg": {"type": "string", "description": "What is wrong, in words."},
            "field": {
                "type": ["string", "null"],
                "description": "The request field at fault (400), e.g. `data.individual.otp`.",
            },
            "retry_after": {
                "type": ["integer", "null"],
                "description": "Seconds to wait (429); also in the `Retry-After` header.",
            },
            "attempts_remaining": {"type": ["integer", "null"]},
        },
        "required": ["msg"],
    },
    "SponsorError": {
        "type": "object",
        "properties": {
            "error_code": {
                "type": "string",
                "enum": list(SPONSOR_ERROR_CODES),
                "description": "; ".join(f"`{k}`: {v}" for k, v in SPONSOR_ERROR_CODES.items()),
            },
            "message": {"type": "string"},
        },
        "required": ["error_code", "message"],
    },
    "OAuthError": {
        "type": "object",
        "description": "An RFC 6749 error answer.",
        "properties": {
            "error": {"type": "string", "enum": OAUTH_ERRORS},
            "error_description": {"type": "string"},
        },
        "required": ["error"],
    },
}

SECURITY_SCHEMES: dict[str, Schema] = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An otpgate API key (`og_sandbox_…` or `og_live_…`), from "
        "`otpgate keys create` or `var/sandbox-key.txt` after `make run`.",
    },
    "sponsorOAuth": {
        "type": "oauth2",
        "description": "Client credentials: the client id is the key's id "
        "(`GET /v1/admin/oauth-client`), the client secret is the key.",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
    },
    "oauthClient": {
        "type": "http",
        "scheme": "basic",
        "description": "Client id and secret, or send them as form fields instead.",
    },
}

# (path prefix, security requirement, error schema, statuses by method; "*" for any method)
STATUS_WORDS = {
    400: "Malformed request; the body names the field",
    401: "Missing or bad credentials",
    403: "Not allowed, or refused for risk by the abuse guard",
    404: "Not found (or another tenant's)",
    409: "Conflicts with the current state",
    410: "Expired or invalidated",
    413: "Body larger than OTPGATE_MAX_BODY_BYTES",
    422: "Refused by the rules of the API",
    429: "Too many requests; see `Retry-After`",
    502: "Delivery failed",
    503: "Not ready",
}
Rule = tuple[str, list[dict[str, list[str]]] | None, str, dict[str, list[int]]]
RULES: list[Rule] = [
    (
        "/api/evaluation",
        [{"apiKey": []}],
        "Error",
        {
            "post": [400, 401, 403, 409, 413, 429],
            "get": [400, 401, 404],
            "put": [400, 401, 404, 409, 413],
            "*": [400, 401, 403, 404, 409, 413, 429],
        },
    ),
    ("/v1/outbox", [{"apiKey": []}], "Error", {"*": [400, 401]}),
    ("/v1/admin", [{"apiKey": []}], "Error", {"put": [400, 401, 404, 413], "*": [400, 401, 404]}),
    ("/process", None, "GatewayResponse", {"*": [400, 401, 403, 404, 413, 429]}),
    ("/oauth/token", [{"oauthClient": []}], "OAuthError", {"*": [400, 401]}),
    (
        "/v1/otp",
        [{"sponsorOAuth": []}],
        "SponsorError",
        {"*": [400, 401, 403, 404, 409, 410, 413, 422, 429, 502]},
    ),
    ("/v1/sponsors", [{"sponsorOAuth": []}], "SponsorError", {"*": [400, 401, 404, 429]}),
    ("/readyz", None, "", {"*": [503]}),
]
DEFAULT_422 = "#/components/schemas/HTTPValidationError"
GENERATED_ERRORS = ("HTTPValidationError", "ValidationError", "ErrorResponse")


def install(app: FastAPI) -> None:
    """Offline docs pages, and the refined document at ``/openapi.json``."""
    _offline_docs(app)
    generate = app.openapi

    def openapi() -> Schema:
        if app.openapi_schema is not None:
            return app.openapi_schema
        services = getattr(app.state, "services", None)
        workflows = services.evaluations.workflows if services is not None else None
        schema = refine(copy.deepcopy(generate()), workflows)
        if workflows is not None:
            app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def refine(schema: Schema, workflows: Mapping[str, Workflow] | None = None) -> Schema:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update(copy.deepcopy(ERROR_SCHEMAS))
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    for path, operations in schema.get("paths", {}).items():
        rule = next((r for r in RULES if path.startswith(r[0])), None)
        for method, operation in operations.items():
            _refine_operation(method, operation, rule)
    _enumerate(components["schemas"])
    if workflows is not None:
        _name_workflows(components["schemas"], workflows)
    used = repr(schema.get("paths"))
    for name in [n for n in components["schemas"] if n.endswith(GENERATED_ERRORS)]:
        if f"#/components/schemas/{name}'" not in used:
            del components["schemas"][name]
    return schema


def _refine_operation(method: str, operation: Schema, rule: Rule | None) -> None:
    responses: Schema = operation.setdefault("responses", {})
    if DEFAULT_422 in repr(responses.get("422")):
        del responses["422"]
    if rule is None:
        return
    _prefix, security, error_schema, table = rule
    if security is not None:
        operation["security"] = security
    for status in table.get(method, table.get("*", [])):
        entry: Schema = {"description": STATUS_WORDS[status]}
        if error_schema:
            ref = {"$ref": f"#/components/schemas/{error_schema}"}
            entry["content"] = {"application/json": {"schema": ref}}
        if status == 429:
            entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        responses[str(status)] = entry
    # Errors FastAPI listed that this route never answers.
    allowed = {str(s) for s in table.get(method, table.get("*", []))}
    for code in [c for c in responses if c[0] in "45" and c not in allowed]:
        del responses[code]


def _enumerate(schemas: Schema) -> None:
    """Enumerations the route models type as plain strings."""
    props = schemas.get("EvaluationResponse", {}).get("properties", {})
    if "sub_status" in props:
        props["sub_status"]["examples"] = EVALUATION_SUB_STATUSES
        props["sub_status"]["description"] = (
            "With `status`: what the evaluation waits for or how it ended. Built-in "
            "workflows use " + ", ".join(f"`{s}`" for s in EVALUATION_SUB_STATUSES) + "; "
            "workflows from OTPGATE_WORKFLOWS_FILE may add their own."
        )
    result = schemas.get("Result", {}).get("properties", {})
    if "action" in result:
        result["action"].update({"type": "string", "enum": list(GATEWAY_DETAILS)})
    if "detail" in result:
        pairs = "; ".join(f"{a}: {', '.join(d)}" for a, d in GATEWAY_DETAILS.items())
        every = [d for details in GATEWAY_DETAILS.values() for d in details]
        result["detail"].update(
            {"type": "string", "enum": every, "description": f"By action: {pairs}."}
        )


WORKFLOW_FIELDS = ("EvaluationRequest", "EvaluationPatch", "EvaluationStateUpdate")


def _name_workflows(schemas: Schema, workflows: Mapping[str, Workflow]) -> None:
    """``workflow`` is one of the names the evaluation service answers to; a start with a
    workflow whose channels all need a phone (or all an email) needs that contact, unless
    ``otp.channel`` picks one."""
    names = sorted(workflows)
    for model in WORKFLOW_FIELDS:
        prop = schemas.get(model, {}).get("properties", {}).get("workflow")
        if prop is not None:
            for option in prop.get("anyOf", [prop]):
                if option.get("type") == "string":
                    option["enum"] = names
    start = schemas.get("EvaluationRequest")
    if start is None:
        return
    for contact, needs_phone in (("phone_number", True), ("email", False)):
        only = [
            n for n in names if all(c.needs_phone is needs_phone for c in workflows[n].channels)
        ]
        if not only:
            continue
        chosen = {
            "required": ["otp"],
            "properties": {
                "otp": {
                    "type": "object",
                    "required": ["channel"],
                    "properties": {"channel": {"type": "string"}},
                }
            },
        }
        given = {"required": [contact], "properties": {contact: {"type": "string"}}}
        individual = {"type": "object", "anyOf": [chosen, given]}
        start.setdefault("allOf", []).append(
            {
                "if": {"required": ["workflow"], "properties": {"workflow": {"enum": only}}},
                "then": {"properties": {"data": {"properties": {"individual": individual}}}},
            }
        )


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` and ReDoc at ``/redoc``, assets served by otpgate itself."""
    docs = {"/docs", "/docs/oauth2-redirect", "/redoc"}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", "") not in docs]
    static = files("fastapi_offline") / "static"
    app.mount(ASSETS_URL, StaticFiles(directory=str(static)), name="docs-assets")
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
