"""``GET /v1/outbox``: the messages the outbox provider holds for this tenant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from otpgate.core.errors import InvalidInput, OtpError, Unauthorized
from otpgate.core.model import Principal
from otpgate.destinations import parse_email, parse_phone
from otpgate.web.auth import require_key
from otpgate.web.wire import EMAIL, Documented, PlainText, field_name


class OutboxRoute(APIRoute):
    """Answers a malformed query parameter with 400 ``{msg, field}``, as the admin API does."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                first: dict[str, Any] = dict(exc.errors()[0]) if exc.errors() else {}
                field = field_name(tuple(first.get("loc", ())))
                msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
                return JSONResponse({"msg": f"{field}: {msg}", "field": field}, status_code=400)

        return guarded


router = APIRouter(tags=["admin"], route_class=OutboxRoute)
# An email (with an "@": it must be valid) or anything else, matched as a phone number
# when it is one and as it is otherwise.
Destination = Annotated[
    PlainText,
    Documented(anyOf=[{"pattern": "^[^@]*$"}, {"format": "email", "pattern": EMAIL}]),
]


class OutboxEntry(BaseModel):
    id: str
    channel: str
    destination: str
    subject: str | None
    body: str
    created_at: str


class OutboxList(BaseModel):
    messages: list[OutboxEntry]


def normalise_destination(raw: str) -> str:
    """Accept a destination as people type it; match it as the outbox stores it."""
    if "@" in raw:
        return parse_email(raw, "destination").value
    try:
        return parse_phone(raw, "destination").value
    except InvalidInput:
        return raw.strip()


async def _principal(request: Request) -> Principal | JSONResponse:
    try:
        return await require_key(request)
    except Unauthorized as exc:
        return JSONResponse(
            {"msg": exc.message}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )


@router.get("/v1/outbox", response_model=OutboxList)
async def list_outbox(
    request: Request,
    destination: Annotated[Destination | None, Query(max_length=320)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    principal: Principal | JSONResponse = Depends(_principal),
) -> JSONResponse:
    if isinstance(principal, JSONResponse):
        return principal
    try:
        dest = normalise_destination(destination) if destination else None
    except OtpError as exc:
        return JSONResponse({"msg": exc.message, "field": "destination"}, status_code=400)
    messages = await request.app.state.services.outbox(
        principal.tenant.id, str(principal.environment), dest, limit
    )
    return JSONResponse(
        {
            "messages": [
                {
                    "id": m.id,
                    "channel": m.channel,
                    "destination": m.destination,
                    "subject": m.subject,
                    "body": m.body,
                    "created_at": dt.datetime.fromtimestamp(m.created_at, dt.UTC).isoformat(),
                }
                for m in messages
            ]
        }
    )
