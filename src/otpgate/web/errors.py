"""Core and flow errors → HTTP answers: one lookup for every API, each with its own table.

An API answers an error in two steps. :class:`ErrorTable` finds the error's
:class:`ErrorAnswer` (status and the API's own code) by walking the exception's MRO, so a
subclass the table does not name (``RefusedForRisk``, ``PausedForRisk``,
``AlreadyValidated``) is answered as its nearest named ancestor, as Starlette finds
exception handlers. The API's renderer (``WebApi.render``) then writes its body.

The tenant-side APIs (evaluation, outbox, admin, the demo backend) share one vocabulary,
:data:`HOUSE` and :func:`house_response`: ``{"msg", "field"?, "retry_after"?}``. The
PhoneMatch gateway (``web/phonematch/translate.py``) and the sponsor API
(``web/sponsor/errors.py``) keep their own tables and bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.responses import Response

from otpgate.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OtpError,
    RateLimited,
    Unauthorized,
)


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    status: int
    code: str = ""
    """The API's own word for the error (the sponsor API's ``error_code``, the gateway's
    ``detail``); the house vocabulary has none."""


@dataclass(frozen=True, slots=True)
class ErrorTable:
    answers: Mapping[type[OtpError], ErrorAnswer]
    default: ErrorAnswer
    """For an ``OtpError`` none of whose classes is in the table."""

    def answer(self, exc: OtpError) -> ErrorAnswer:
        """The answer of the first class in ``exc``'s MRO that the table names."""
        answers = self.answers
        for cls in type(exc).__mro__:
            found = answers.get(cls)
            if found is not None:
                return found
        return self.default


def statuses(table: Mapping[type[OtpError], int]) -> dict[type[OtpError], ErrorAnswer]:
    """A table of bare statuses, for vocabularies without codes of their own."""
    return {cls: ErrorAnswer(status) for cls, status in table.items()}


HOUSE = ErrorTable(
    statuses(
        {
            InvalidInput: 400,
            Unauthorized: 401,
            Forbidden: 403,
            NotFound: 404,
            Conflict: 409,
            RateLimited: 429,
        }
    ),
    default=ErrorAnswer(400),
)
"""otpgate's own vocabulary: the evaluation API, the outbox, the admin API, the demo."""


def house_response(
    exc: OtpError, answer: ErrorAnswer, extra: Mapping[str, Any] | None = None
) -> JSONResponse:
    """``{"msg"}``, with ``field`` for bad input and ``retry_after`` (and ``Retry-After``)
    for a limit; ``extra`` comes first (the evaluation API puts the evaluation there)."""
    body: dict[str, Any] = {**extra, "msg": exc.message} if extra else {"msg": exc.message}
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidInput):
        body["field"] = exc.field
    if isinstance(exc, RateLimited):
        body["retry_after"] = exc.retry_after
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=answer.status, headers=headers)


def house_render(request: Request, exc: OtpError, answer: ErrorAnswer) -> Response:
    """:func:`house_response` as a ``WebApi.render``."""
    return house_response(exc, answer)
