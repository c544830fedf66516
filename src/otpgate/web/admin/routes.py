"""``GET /v1/outbox``: the messages the outbox provider holds for this tenant."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from otpgate.core.model import Principal
from otpgate.destinations import outbox_destination
from otpgate.web.admin.errors import ROUTE_CLASS
from otpgate.web.routing import principal_of, services_of
from otpgate.web.wire import EMAIL, Documented, PlainText

router = APIRouter(tags=["admin"], route_class=ROUTE_CLASS)
Caller = Annotated[Principal, Depends(principal_of)]
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


@router.get("/v1/outbox", response_model=OutboxList)
async def list_outbox(
    request: Request,
    caller: Caller,
    destination: Annotated[Destination | None, Query(max_length=320)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSONResponse:
    dest = outbox_destination(destination) if destination else None
    messages = await services_of(request).outbox(
        caller.tenant.id, str(caller.environment), dest, limit
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
