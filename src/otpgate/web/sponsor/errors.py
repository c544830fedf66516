"""Core and sponsor errors → this API's ``{"error_code", "message"}`` answers, in one table.

The seed document's codes (``071-2xx``) are used exactly where it defines them;
situations it does not name get a descriptive code instead of an invented number.
A malformed request is ``071-201`` with a message that starts ``malformed request:``.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.responses import Response

from otpgate.core import errors as core
from otpgate.core.errors import InvalidInput, OtpError, RateLimited, Unauthorized
from otpgate.flows.sponsor.errors import ChannelUnavailable, DeliveryFailed, OtpGone, WrongCode
from otpgate.web.errors import ErrorAnswer, ErrorTable
from otpgate.web.validation import Problem, ProblemKind

MALFORMED = "071-201"
ERROR_TABLE = ErrorTable(
    {
        core.InvalidInput: ErrorAnswer(400, MALFORMED),
        core.Forbidden: ErrorAnswer(403, "071-202"),
        core.NotFound: ErrorAnswer(404, "071-203"),
        core.Conflict: ErrorAnswer(409, "071-204"),
        OtpGone: ErrorAnswer(410, "071-205"),
        WrongCode: ErrorAnswer(422, "071-206"),
        core.RateLimited: ErrorAnswer(429, "071-207"),
        ChannelUnavailable: ErrorAnswer(422, "channel_not_supported"),
        DeliveryFailed: ErrorAnswer(502, "delivery_failed"),
        core.Unauthorized: ErrorAnswer(401, "invalid_token"),
    },
    default=ErrorAnswer(400, MALFORMED),
)


def render(request: Request, exc: OtpError, answer: ErrorAnswer) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return JSONResponse(
        {"error_code": answer.code, "message": exc.message},
        status_code=answer.status,
        headers=headers,
    )


def invalid(problem: Problem) -> InvalidInput:
    if problem.kind in (ProblemKind.NOT_JSON, ProblemKind.NOT_OBJECT):
        words = "the body must be a JSON object"
    elif problem.kind is ProblemKind.UNREADABLE:
        words = "the body is not valid JSON"
    else:
        words = problem.message
    return InvalidInput(problem.field, f"malformed request: {words}")
