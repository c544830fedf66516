"""Verification sessions, their deliveries and the audit trail, in SQL (see ``database.py``)."""

# ruff: noqa: S608 - statements are built from this module's own constant column lists
from __future__ import annotations

import json

from otpgate.adapters.sql.database import Row, Transaction
from otpgate.adapters.sql.sealed import Sealer
from otpgate.core.model import (
    AuditEvent,
    Channel,
    DeliveryResult,
    Destination,
    DestinationKind,
    Environment,
)
from otpgate.core.session import SessionState, VerificationSession

_COLUMNS = (
    "id, tenant_id, environment, channel, destination_kind, destination, destination_country,"
    " destination_line_type, destination_calling_code, destination_key, nonce, key_id,"
    " code_length, max_attempts, state, attempts, sends, locale, created_at, expires_at,"
    " closed_at"
)
_CREATE = (
    f"INSERT INTO verification_sessions ({_COLUMNS}) VALUES (:id, :tenant_id, :environment,"
    " :channel, :destination_kind, :destination, :destination_country, :destination_line_type,"
    " :destination_calling_code, :destination_key, :nonce, :key_id, :code_length,"
    " :max_attempts, :state, :attempts, :sends, :locale, :created_at, :expires_at, :closed_at)"
)
_GET = f"SELECT {_COLUMNS} FROM verification_sessions WHERE id = :id AND tenant_id = :tenant_id"
# The attempt claim: counted before the code is compared, and only while the session is
# open. The row it returns is the session as it now stands, so no read follows.
_CLAIM = (
    "UPDATE verification_sessions SET attempts = attempts + 1"
    " WHERE id = :id AND state = 'pending' AND attempts < max_attempts AND expires_at > :now"
    # A locked destination takes no guesses on any of its sessions (the abuse guard).
    ' AND NOT EXISTS (SELECT 1 FROM lockouts WHERE lockouts."key" ='
    " 'lock:' || verification_sessions.destination_key AND lockouts.\"until\" > :now)"
    f" RETURNING {_COLUMNS}"
)
_TRANSITION = (
    "UPDATE verification_sessions SET state = :target, closed_at = :now"
    " WHERE id = :id AND state = :source"
)
_COUNT_SEND = "UPDATE verification_sessions SET sends = sends + 1 WHERE id = :id"
_RECORD_DELIVERY = (
    "INSERT INTO deliveries (tenant_id, session_id, channel, provider, ok, status_code,"
    " provider_message_id, error, attempts, created_at) VALUES (:tenant_id, :session_id,"
    " :channel, :provider, :ok, :status_code, :provider_message_id, :error, :attempts, :at)"
)
_RECORD = (
    "INSERT INTO audit_events (tenant_id, subject_type, subject_id, action, detail, created_at)"
    " VALUES (:tenant_id, :subject_type, :subject_id, :action, :detail, :at)"
)


SESSION_COLUMNS = tuple(c.strip() for c in _COLUMNS.split(","))


def session_from_row(row: Row, sealer: Sealer, start: int | None = None) -> VerificationSession:
    """The session in ``row``; in a join, its columns are ``row[start:]`` in
    :data:`SESSION_COLUMNS` order (read by position: a row's lookup by name scans its
    column names, and a join's are many)."""
    if start is not None:
        row = {c: row[start + i] for i, c in enumerate(SESSION_COLUMNS)}
    return VerificationSession(
        id=row["id"],
        tenant_id=row["tenant_id"],
        environment=Environment(row["environment"]),
        channel=Channel(row["channel"]),
        destination=Destination(
            kind=DestinationKind(row["destination_kind"]),
            value=sealer.open(row["destination"]),
            country=row["destination_country"],
            line_type=row["destination_line_type"],
            calling_code=row["destination_calling_code"],
        ),
        destination_key=row["destination_key"],
        nonce=row["nonce"],
        key_id=row["key_id"],
        code_length=row["code_length"],
        max_attempts=row["max_attempts"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        state=SessionState(row["state"]),
        attempts=row["attempts"],
        sends=row["sends"],
        closed_at=row["closed_at"],
        locale=row["locale"],
    )


class SqlSessions:
    """The destination is stored sealed; ``destination_key`` (a keyed hash) finds it."""

    __slots__ = ("sealer", "tx")

    def __init__(self, tx: Transaction, sealer: Sealer) -> None:
        self.tx = tx
        self.sealer = sealer

    async def create(self, session: VerificationSession) -> None:
        d = session.destination
        await self.tx.execute(
            _CREATE,
            {
                "id": session.id,
                "tenant_id": session.tenant_id,
                "environment": str(session.environment),
                "channel": str(session.channel),
                "destination_kind": str(d.kind),
                "destination": self.sealer.seal(d.value),
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
            },
        )

    async def get(self, tenant_id: str, session_id: str) -> VerificationSession | None:
        row = await self.tx.fetchrow(_GET, {"id": session_id, "tenant_id": tenant_id})
        return session_from_row(row, self.sealer) if row is not None else None

    async def claim_attempt(self, session_id: str, now: float) -> VerificationSession | None:
        row = await self.tx.fetchrow(_CLAIM, {"id": session_id, "now": now})
        return session_from_row(row, self.sealer) if row is not None else None

    async def transition(
        self, session_id: str, source: SessionState, target: SessionState, now: float
    ) -> bool:
        params = {"id": session_id, "source": source.value, "target": target.value, "now": now}
        return await self.tx.execute(_TRANSITION, params) == 1

    async def count_send(self, session_id: str) -> None:
        await self.tx.execute(_COUNT_SEND, {"id": session_id})


class SqlDeliveryLog:
    __slots__ = ("tx",)

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def record_delivery(
        self, session: VerificationSession, result: DeliveryResult, at: float
    ) -> None:
        await self.tx.execute(
            _RECORD_DELIVERY,
            {
                "tenant_id": session.tenant_id,
                "session_id": session.id,
                "channel": str(session.channel),
                "provider": result.provider,
                "ok": int(result.ok),
                "status_code": result.status_code,
                "provider_message_id": result.provider_message_id,
                "error": result.error,
                "attempts": result.attempts,
                "at": at,
            },
        )


class SqlAuditLog:
    __slots__ = ("tx",)

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def record(self, event: AuditEvent) -> None:
        await self.tx.execute(
            _RECORD,
            {
                "tenant_id": event.tenant_id,
                "subject_type": event.subject_type,
                "subject_id": event.subject_id,
                "action": event.action,
                "detail": json.dumps(event.detail) if event.detail is not None else None,
                "at": event.at,
            },
        )
