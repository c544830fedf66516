"""Core and sponsor errors → this API's ``{"error_code", "message"}`` answers, in one table.

The seed document's codes (``071-2xx``) are used exactly where it defines them;
situations it does not name get a descriptive code instead of an invented number.
"""

from __future__ import annotations

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
from otpgate.flows.sponsor.errors import ChannelUnavailable, DeliveryFailed, OtpGone, WrongCode
from otpgate.web.wire import field_name

ERROR_TABLE: dict[type[OtpError], tuple[int, str]] = {
    InvalidInput: (400, "071-201"),
    Forbidden: (403, "071-202"),
    NotFound: (404, "071-203"),
    Conflict: (409, "071-204"),
    OtpGone: (410, "071-205"),
    WrongCode: (422, "071-206"),
    RateLimited: (429, "071-207"),
    ChannelUnavailable: (422, "channel_not_supported"),
    DeliveryFailed: (502, "delivery_failed"),
    Unauthorized: (401, "invalid_token"),
}


def _lookup(exc: OtpError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return 400, "071-201"


def error_body(status: int, error_code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error_code": error_code, "message": message}, status_code=status, headers=headers
    )


def error_response(exc: OtpError) -> JSONResponse:
    status, code = _lookup(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return error_body(status, code, exc.message, **headers)


def validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first: dict[str, Any] = dict(errors[0]) if errors else {"loc": ("body",), "type": ""}
    if first.get("type") in ("json_invalid", "model_attributes_type", "dict_type"):
        return error_body(400, "071-201", "malformed request: the body must be a JSON object")
    field = field_name(tuple(first.get("loc", ())))
    if first.get("type") == "missing":
        return error_body(400, "071-201", f"malformed request: {field} is required")
    detail = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return error_body(400, "071-201", f"malformed request: {field}: {detail}")
