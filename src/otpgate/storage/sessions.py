"""The SQL session store: the core's ``SessionStore``, ``DeliveryLog`` and ``AuditLog``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.core.model import (
    AuditEvent,
    Channel,
    DeliveryResult,
    Destination,
    DestinationKind,
    Environment,
)
from otpgate.core.session import SessionState, VerificationSession
from otpgate.storage.lease import first, read, rowcount, run, write
from otpgate.storage.tables import audit_events, deliveries, sessions

# Hot statements are built once: SQLAlchemy then skips rebuilding and re-keying them on
# every call, about a third of a statement's Python cost (bench/cpu.py).
_GET = select(sessions).where(
    sessions.c.id == bindparam("session_id"), sessions.c.tenant_id == bindparam("tenant_id")
)
_CLAIM = (
    update(sessions)
    .where(
        sessions.c.id == bindparam("session_id"),
        sessions.c.state == SessionState.PENDING.value,
        sessions.c.attempts < sessions.c.max_attempts,
        sessions.c.expires_at > bindparam("now"),
    )
    .values(attempts=sessions.c.attempts + 1)
    .returning(sessions.c.attempts)
)
_TRANSITION = (
    update(sessions)
    .where(sessions.c.id == bindparam("s_id"), sessions.c.state == bindparam("s_source"))
    .values(state=bindparam("s_target"), closed_at=bindparam("s_now"))
)
_COUNT_SEND = (
    update(sessions).where(sessions.c.id == bindparam("s_id")).values(sends=sessions.c.sends + 1)
)
_CREATE = insert(sessions)
_RECORD = insert(audit_events)
_RECORD_DELIVERY = insert(deliveries)


def _row_to_session(row: Any) -> VerificationSession:
    return VerificationSession(
        id=row.id,
        tenant_id=row.tenant_id,
        environment=Environment(row.environment),
        channel=Channel(row.channel),
        destination=Destination(
            kind=DestinationKind(row.destination_kind),
            value=row.destination,
            country=row.destination_country,
            line_type=row.destination_line_type,
            calling_code=row.destination_calling_code,
        ),
        destination_key=row.destination_key,
        nonce=row.nonce,
        key_id=row.key_id,
        code_length=row.code_length,
        max_attempts=row.max_attempts,
        created_at=row.created_at,
        expires_at=row.expires_at,
        state=SessionState(row.state),
        attempts=row.attempts,
        sends=row.sends,
        closed_at=row.closed_at,
        locale=row.locale,
    )


class SqlSessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create_session(self, session: VerificationSession) -> None:
        d = session.destination
        params = {
            "id": session.id,
            "tenant_id": session.tenant_id,
            "environment": str(session.environment),
            "channel": str(session.channel),
            "destination_kind": str(d.kind),
            "destination": d.value,
            "destination_country": d.country,
            "destination_line_type": d.line_type,
            "destination_calling_code": d.calling_code,
            "destination_key": session.destination_key,
            "nonce": session.nonce,
            "key_id": session.key_id,
            "code_length": session.code_length,
            "max_attempts": session.max_attempts,
            "state": str(session.state),
            "attempts": session.attempts,
            "sends": session.sends,
            "locale": session.locale,
            "created_at": session.created_at,
            "expires_at": session.expires_at,
            "closed_at": session.closed_at,
        }
        await write(self.engine, run, _CREATE, params)

    async def get_session(self, tenant_id: str, session_id: str) -> VerificationSession | None:
        params = {"session_id": session_id, "tenant_id": tenant_id}
        row = await read(self.engine, first, _GET, params)
        return _row_to_session(row) if row is not None else None

    async def claim_attempt(self, session_id: str, now: float) -> int | None:
        row = await write(self.engine, first, _CLAIM, {"session_id": session_id, "now": now})
        return int(row[0]) if row is not None else None

    async def transition(
        self, session_id: str, source: SessionState, target: SessionState, now: float
    ) -> bool:
        params = {"s_id": session_id, "s_source": source.value, "s_target": target.value}
        return await write(self.engine, rowcount, _TRANSITION, {**params, "s_now": now}) == 1

    async def count_send(self, session_id: str) -> None:
        await write(self.engine, run, _COUNT_SEND, {"s_id": session_id})

    async def record_delivery(
        self, session: VerificationSession, result: DeliveryResult, at: float
    ) -> None:
        params = {
            "tenant_id": session.tenant_id,
            "session_id": session.id,
            "channel": str(session.channel),
            "provider": result.provider,
            "ok": int(result.ok),
            "status_code": result.status_code,
            "provider_message_id": result.provider_message_id,
            "error": result.error,
            "attempts": result.attempts,
            "created_at": at,
        }
        await write(self.engine, run, _RECORD_DELIVERY, params)

    async def record(self, event: AuditEvent) -> None:
        params = {
            "tenant_id": event.tenant_id,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "action": event.action,
            "detail": event.detail,
            "created_at": event.at,
        }
        await write(self.engine, run, _RECORD, params)
