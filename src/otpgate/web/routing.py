"""One route class for every API: errors and malformed requests answered in its own words.

An API package describes itself once, as a :class:`WebApi`: its error table and
renderer (``web/errors.py``), how it words a malformed request (``web/validation.py``),
and optionally a *guard* that runs before each handler (authentication that must come
before the body is read: the admin and sponsor APIs) and a request header that every
answer echoes (the evaluation API's ``X-API-Version``). ``api.route_class()`` is the
``APIRouter(route_class=…)`` that applies it; handlers then only raise ``OtpError``.

The wrapper adds no dependency to solve and encodes no body twice: it is one ``try``
around FastAPI's own handler, built once per route.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from otpgate.core.errors import InvalidInput, OtpError
from otpgate.core.model import Principal
from otpgate.services import Services
from otpgate.web.errors import ErrorAnswer, ErrorTable
from otpgate.web.validation import UNREADABLE, Problem, problem_of

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Guard = Callable[[Handler, Request], Awaitable[Response]]
"""Runs the handler (or refuses to): ``await guard(handler, request)``."""
Render = Callable[[Request, OtpError, ErrorAnswer], Response]
Invalid = Callable[[Problem], InvalidInput | None]
"""A malformed request in the API's words; ``None`` leaves it to the app's handler."""
Authenticate = Callable[[Request], Awaitable[Principal]]
ECHO_LIMIT = 64


def services_of(request: Request) -> Services:
    """The application's services (``app.state.services``, set by its lifespan)."""
    services: Services = request.app.state.services
    return services


def principal_of(request: Request) -> Principal:
    """The caller a guard made of :func:`authenticated` found for this request."""
    principal: Principal = request.state.principal
    return principal


def authenticated(authenticate: Authenticate) -> Guard:
    """A guard that authenticates first (before the body is read or validated) and keeps
    the caller for :func:`principal_of`."""

    async def guard(handler: Handler, request: Request) -> Response:
        request.state.principal = await authenticate(request)
        return await handler(request)

    return guard


@dataclass(frozen=True, kw_only=True)
class WebApi:
    name: str
    errors: ErrorTable
    render: Render
    invalid: Invalid
    guard: Guard | None = None
    echo_header: str | None = None
    """A request header every answer repeats, when it is printable and at most
    :data:`ECHO_LIMIT` characters long."""

    def error_response(self, request: Request, exc: OtpError) -> Response:
        return self.render(request, exc, self.errors.answer(exc))

    async def invalid_response(self, request: Request, exc: Exception) -> Response | None:
        """The answer to a request FastAPI refused (``None``: not this API's to word)."""
        if isinstance(exc, RequestValidationError):
            raw = await request.body()  # read already: FastAPI parsed it
            problem = problem_of(exc, raw)
        elif isinstance(exc, HTTPException) and exc.status_code == 400:
            problem = UNREADABLE  # FastAPI's "error parsing the body" (not UTF-8)
        else:
            return None
        refusal = self.invalid(problem)
        return None if refusal is None else self.error_response(request, refusal)

    def answering(self, handler: Handler) -> Handler:
        """``handler`` with this API's guard, error answers and echoed header."""
        guard, echo = self.guard, self.echo_header
        echo_key = echo.lower() if echo else ""

        async def answer(request: Request) -> Response:
            try:
                if guard is None:
                    response = await handler(request)
                else:
                    response = await guard(handler, request)
            except OtpError as exc:
                response = self.error_response(request, exc)
            except (RequestValidationError, HTTPException) as exc:
                refused = await self.invalid_response(request, exc)
                if refused is None:
                    raise
                response = refused
            if echo:
                value = request.headers.get(echo_key)
                if value and len(value) <= ECHO_LIMIT and value.isprintable():
                    response.headers[echo] = value
            return response

        return answer

    def route_class(self) -> type[APIRoute]:
        """The ``APIRouter(route_class=…)`` of this API."""
        api = self

        class ApiRoute(APIRoute):
            web_api: ClassVar[WebApi] = api

            def get_route_handler(self) -> Handler:
                return self.web_api.answering(super().get_route_handler())

        ApiRoute.__name__ = ApiRoute.__qualname__ = f"{api.name}Route"
        return ApiRoute


def json_text(content: Any) -> str:
    """``content`` encoded exactly as Starlette's ``JSONResponse`` encodes it (compact,
    UTF-8, no NaN): for an answer that is also stored, so it is encoded once."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    )
