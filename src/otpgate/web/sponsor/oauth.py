"""``POST /oauth/token``: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).

Client authentication as clients send it: HTTP Basic (``client_secret_basic``)
or ``client_id``/``client_secret`` form fields (``client_secret_post``), never
both. Errors are RFC 6749 §5.2 bodies: ``{"error": …, "error_description": …}``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from otpgate.services import Services
from otpgate.web.sponsor.schemas import TokenResponse
from otpgate.web.wire import NO_CONTROL, refusal

router = APIRouter(tags=["sponsor"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    via_basic: bool


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400, basic: bool = False):
        super().__init__(description)
        self.error, self.description, self.status, self.basic = error, description, status, basic

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="otpgate"' if self.basic else "Basic"
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=headers,
        )


def _form(raw: bytes) -> dict[str, str]:
    try:
        parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", "the body must be a URL-encoded form") from exc
    repeated = sorted(k for k, v in parsed.items() if len(v) > 1)
    if repeated:
        raise OAuthError("invalid_request", f"parameter {repeated[0]} is repeated")
    for name, values in parsed.items():
        problem = refusal(name) or refusal(values[0])
        if problem is not None:
            raise OAuthError("invalid_request", f"parameter {name!r}: {problem}")
    return {k: v[0] for k, v in parsed.items()}


def _basic(header: str) -> ClientCredentials | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401, True) from exc
    client_id, sep, secret = (unquote(part) for part in decoded.partition(":"))
    if not sep or refusal(client_id) or refusal(secret):
        raise OAuthError("invalid_client", "malformed Basic credentials", 401, True)
    return ClientCredentials(client_id, secret, via_basic=True)


def _credentials(request: Request, form: dict[str, str]) -> ClientCredentials:
    basic = _basic(request.headers.get("authorization", ""))
    in_form = "client_secret" in form
    if basic is not None and in_form:
        raise OAuthError("invalid_request", "use one client authentication method, not two")
    if basic is not None:
        return basic
    if in_form and form.get("client_id"):
        return ClientCredentials(form["client_id"], form["client_secret"], via_basic=False)
    raise OAuthError("invalid_client", "client authentication is required", 401)


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string", "pattern": NO_CONTROL},
                            "client_secret": {"type": "string", "pattern": NO_CONTROL},
                        },
                    }
                }
            }
        }
    },
)
async def issue_token(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    try:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise OAuthError(
                "invalid_request", "send the request as application/x-www-form-urlencoded"
            )
        form = _form(await request.body())
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "grant_type is required")
        if grant != "client_credentials":
            raise OAuthError("unsupported_grant_type", "only client_credentials is supported")
        creds = _credentials(request, form)
        principal = await services.oauth.clients.authenticate(creds.client_id, creds.client_secret)
        if principal is None:
            raise OAuthError(
                "invalid_client", "unknown client or wrong secret", 401, creds.via_basic
            )
    except OAuthError as exc:
        return exc.response()
    issued = services.oauth.tokens.issue(
        principal.key_id, principal.tenant.id, principal.environment
    )
    return JSONResponse(
        {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
        },
        headers=NO_STORE,
    )
