"""The hot calls without FastAPI's per-request machinery, answered exactly as FastAPI would.

A verify or a read is most of an integrator's traffic, and FastAPI's generic route
(dependency solving, the exit stack, the exception middleware, the body read twice over
Starlette's request) cost about as much CPU as the use case itself (``bench/cpu.py``).
For the few routes an API lists as :class:`HotRoute`, this middleware does what that
route does, in the same order, through the same functions:

1. the body is read and decoded as FastAPI decodes it (``json.loads``), then validated
   with the route's own pydantic model;
2. the route's handler runs inside its :class:`~otpgate.web.routing.WebApi` (guard, error
   answers and echoed header: ``WebApi.answering``, the route class's own wrapper).

Whatever it does not take as it stands goes to FastAPI untouched, with the body it has
read: a body that is not JSON or does not validate (FastAPI words that refusal), another
content type, a ``HEAD``, an app under a root path. Nothing runs twice: the fallback is
decided before the handler, and authentication, which may come before, has no effect.
The FastAPI routes stay, for those requests and for the OpenAPI document.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from otpgate.web.routing import Handler, WebApi

HotHandler = Callable[[Request, Any], Awaitable[Response]]
"""``handler(request, body)``: the route's work; ``body`` is the validated model (or
``None`` for a route without one); the path's parameter is in ``request.path_params``."""

_JSON_TYPES = (b"application/json",)


@dataclass(frozen=True, eq=False)
class HotRoute:
    method: str
    path: str
    """The FastAPI route's path: literal, or ending in one ``{name}`` segment."""
    api: WebApi
    handler: HotHandler
    body: type[BaseModel] | None = None
    _adapter: TypeAdapter[Any] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.body is not None:
            object.__setattr__(self, "_adapter", TypeAdapter(self.body))

    def split(self) -> tuple[str, str | None]:
        """The path up to its parameter, and the parameter's name (``None``: literal)."""
        head, brace, tail = self.path.partition("{")
        return head, tail.rstrip("}") if brace else None


class _Fallback(Exception):
    """Not this lane's to answer: FastAPI takes the request."""


class FastLane:
    """ASGI middleware in front of FastAPI's router for the listed routes."""

    def __init__(self, app: ASGIApp, routes: Sequence[HotRoute]) -> None:
        self.app = app
        self.exact: dict[tuple[str, str], HotRoute] = {}
        # (method, the path up to its last segment) → the route and its parameter's name
        self.prefixed: dict[tuple[str, str], tuple[HotRoute, str]] = {}
        self.answers: dict[HotRoute, Handler] = {}
        for route in routes:
            head, parameter = route.split()
            key = (route.method, route.path if parameter is None else head)
            if key in self.exact or key in self.prefixed:
                raise ValueError(f"two hot routes for {route.method} {route.path}")
            if parameter is None:
                self.exact[key] = route
            else:
                self.prefixed[key] = (route, parameter)
            self.answers[route] = route.api.answering(_runner(route))

    def _route_for(self, scope: Scope) -> tuple[HotRoute, dict[str, str]] | None:
        method, path = scope["method"], scope["path"]
        route = self.exact.get((method, path))
        if route is not None:
            return route, {}
        head, slash, tail = path.rpartition("/")
        if not slash or not tail:
            return None
        found = self.prefixed.get((method, head + "/"))
        if found is None:
            return None
        route, parameter = found
        return route, {parameter: tail}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._route_for(scope) if scope["type"] == "http" else None
        if found is None or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        route, params = found
        try:
            if route.body is not None:
                messages = await _read(receive)
                receive = _replaying(messages, receive)
                _validate(route, scope, messages)
            scope["path_params"] = params
            scope["route"] = route  # its ``path`` names it in the access log and metrics
            response = await self.answers[route](Request(scope, receive, send))
        except _Fallback:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


def _runner(route: HotRoute) -> Handler:
    async def run(request: Request) -> Response:
        return await route.handler(request, request.scope.get("otpgate.body"))

    return run


def _validate(route: HotRoute, scope: Scope, messages: list[Message]) -> None:
    """Puts the body, as FastAPI would give it to the route, in the scope; or raises
    :class:`_Fallback`."""
    if messages[-1]["type"] != "http.request" or not _is_json(scope):
        raise _Fallback  # the client left mid-body, or a type FastAPI reads its own way
    raw = b"".join(m.get("body", b"") for m in messages)
    if not raw:
        raise _Fallback
    try:
        value = json.loads(raw)
        assert route._adapter is not None
        body = route._adapter.validate_python(value, from_attributes=True)
    except (ValueError, RecursionError, ValidationError):  # JSONDecodeError, UnicodeDecodeError
        raise _Fallback from None
    scope["otpgate.body"] = body


def _is_json(scope: Scope) -> bool:
    """A content type FastAPI reads as JSON, in its plainest spelling (other spellings
    are FastAPI's to read)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            main = value.partition(b";")[0].strip().lower()
            return main in _JSON_TYPES
    return True  # FastAPI reads a body without a content type as JSON


async def _read(receive: Receive) -> list[Message]:
    """The body's messages, up to the last one (or the client's leaving)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that gives the messages already read again, then the connection's."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
