"""The PhoneMatch gateway's errors: HTTP status and ``result.detail`` (otpgate's own
words: the document lists none), answered in the document's envelope with ``FAIL``.

The envelope's ``meta`` echoes the request as far as it got: a handler calls
:func:`so_far` as it learns the service, reference, user and company, and a failure
after that point echoes them.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.responses import Response

from otpgate.core import errors as core
from otpgate.core.errors import InvalidInput, OtpError, RateLimited
from otpgate.flows.phonematch.service import new_confirmation
from otpgate.web.errors import ErrorAnswer, ErrorTable
from otpgate.web.phonematch.translate import FAIL, Meta, result_body
from otpgate.web.routing import services_of
from otpgate.web.validation import Problem, ProblemKind

ERROR_TABLE = ErrorTable(
    {
        core.InvalidInput: ErrorAnswer(400, "INVALID REQUEST"),
        core.Unauthorized: ErrorAnswer(401, "AUTHENTICATION FAILED"),
        core.Forbidden: ErrorAnswer(403, "NOT ALLOWED"),
        core.NotFound: ErrorAnswer(404, "INVALID TOKEN"),
        core.Conflict: ErrorAnswer(409, "CONFLICT"),
        core.RateLimited: ErrorAnswer(429, "TOO MANY REQUESTS"),
    },
    default=ErrorAnswer(400, "INVALID REQUEST"),
)
NOT_JSON = "the request body is not valid JSON"
NOT_AN_OBJECT = "the request body must be a JSON object"


def so_far(request: Request, meta: Meta) -> None:
    """What this request's error answers echo in ``meta`` from now on."""
    request.state.gateway_meta = meta


def render(request: Request, exc: OtpError, answer: ErrorAnswer) -> Response:
    meta: Meta = getattr(request.state, "gateway_meta", None) or Meta()
    body = {
        "output": {},
        "meta": meta.body(new_confirmation(), services_of(request).clock.now()),
        "result": result_body(FAIL, answer.code, [exc.message]),
    }
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(body, status_code=answer.status, headers=headers)


def invalid(problem: Problem) -> InvalidInput:
    kind = problem.kind
    if kind is ProblemKind.NOT_JSON and problem.detail:
        return InvalidInput("body", f"{NOT_JSON}: {problem.detail}")
    if kind in (ProblemKind.NOT_JSON, ProblemKind.UNREADABLE):
        return InvalidInput("body", f"{NOT_JSON} text")
    if kind in (ProblemKind.NOT_OBJECT, ProblemKind.EMPTY):
        return InvalidInput("body", NOT_AN_OBJECT)
    return InvalidInput(problem.field, problem.message)
