"""The sponsor flow's stores in SQL: the directory, otp ids and hashed verification tokens.

Prebuilt statements on the unit of work's transaction (see ``database.py``); the same
SQL runs on SQLite and PostgreSQL. The JSON columns (a sponsor's channels and
operations) are written as ``json.dumps`` text and read back from text or decoded JSON.
"""

# Statements are built from constant column lists; every value is a bound parameter.
# ruff: noqa: S608, S105

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, fields
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from otpgate.adapters.sql.database import Params, Row, Transaction
from otpgate.adapters.sql.sealed import Sealer
from otpgate.core.model import Channel, Destination, DestinationKind, Scope
from otpgate.flows.sponsor.model import Beneficiary, Sponsor, SponsorOtp, TokenRecord

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
D = TypeVar("D", bound="DataclassInstance")

_SPONSOR = "id, tenant_id, environment, slug, name, channels, otp_operations, active"
_SCOPED = "tenant_id = :tenant_id AND environment = :environment"
# One statement creates or replaces a sponsor and returns it as stored: an existing
# sponsor keeps its id and created_at.
_SAVE_SPONSOR = (
    "INSERT INTO sponsors (id, tenant_id, environment, slug, name, channels, otp_operations,"
    " active, created_at, updated_at) VALUES (:id, :tenant_id, :environment, :slug, :name,"
    " :channels, :otp_operations, :active, :now, :now)"
    " ON CONFLICT (tenant_id, environment, slug) DO UPDATE SET name = excluded.name,"
    " channels = excluded.channels, otp_operations = excluded.otp_operations,"
    " active = excluded.active, updated_at = excluded.updated_at"
    f" RETURNING {_SPONSOR}"
)
_SPONSOR_BY_SLUG = f"SELECT {_SPONSOR} FROM sponsors WHERE {_SCOPED} AND slug = :slug"
_SPONSOR_BY_ID = f"SELECT {_SPONSOR} FROM sponsors WHERE {_SCOPED} AND id = :id"
_SPONSORS = f"SELECT {_SPONSOR} FROM sponsors WHERE {_SCOPED} ORDER BY slug"

_BENEFICIARY = (
    "tenant_id, environment, sponsor_id, beneficiary_id, phone, phone_country,"
    " phone_line_type, phone_calling_code, email"
)
_SAVE_BENEFICIARY = (
    f"INSERT INTO sponsor_beneficiaries ({_BENEFICIARY}, created_at, updated_at)"
    " VALUES (:tenant_id, :environment, :sponsor_id, :beneficiary_id, :phone,"
    " :phone_country, :phone_line_type, :phone_calling_code, :email, :now, :now)"
    " ON CONFLICT (sponsor_id, beneficiary_id) DO UPDATE SET phone = excluded.phone,"
    " phone_country = excluded.phone_country, phone_line_type = excluded.phone_line_type,"
    " phone_calling_code = excluded.phone_calling_code, email = excluded.email,"
    " updated_at = excluded.updated_at"
    " WHERE sponsor_beneficiaries.tenant_id = excluded.tenant_id"
    " AND sponsor_beneficiaries.environment = excluded.environment"
)
_BENEFICIARY_BY_ID = (
    f"SELECT {_BENEFICIARY} FROM sponsor_beneficiaries"
    f" WHERE {_SCOPED} AND sponsor_id = :sponsor_id AND beneficiary_id = :beneficiary_id"
)
_REMOVE_BENEFICIARY = (
    "DELETE FROM sponsor_beneficiaries"
    f" WHERE {_SCOPED} AND sponsor_id = :sponsor_id AND beneficiary_id = :beneficiary_id"
)

_OTP = "id, tenant_id, environment, sponsor_id, beneficiary_id, session_id, channel, created_at"
_ADD_OTP = (
    f"INSERT INTO sponsor_otps ({_OTP}) VALUES (:id, :tenant_id, :environment, :sponsor_id,"
    " :beneficiary_id, :session_id, :channel, :created_at)"
)
_OTP_BY_ID = f"SELECT {_OTP} FROM sponsor_otps WHERE id = :id AND {_SCOPED}"

_TOKEN = (
    "token_hash, otp_id, tenant_id, environment, sponsor_id, beneficiary_id, channel,"
    " created_at, expires_at, redeemed_at, operation"
)
_ADD_TOKEN = (
    "INSERT INTO sponsor_verification_tokens (token_hash, otp_id, tenant_id, environment,"
    " sponsor_id, beneficiary_id, channel, created_at, expires_at) VALUES (:token_hash,"
    " :otp_id, :tenant_id, :environment, :sponsor_id, :beneficiary_id, :channel,"
    " :created_at, :expires_at)"
)
_TOKEN_BY_HASH = (
    f"SELECT {_TOKEN} FROM sponsor_verification_tokens WHERE token_hash = :key AND {_SCOPED}"
)
_TOKEN_BY_OTP = f"SELECT {_TOKEN} FROM sponsor_verification_tokens WHERE otp_id = :key"
# Single use: the row count says whether this unit of work is the one that redeemed it.
_REDEEM = (
    "UPDATE sponsor_verification_tokens SET redeemed_at = :now, operation = :operation"
    f" WHERE token_hash = :token_hash AND {_SCOPED}"
    " AND redeemed_at IS NULL AND expires_at > :now"
)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _sponsor(row: Row) -> Sponsor:
    operations: dict[str, list[str]] = _json(row["otp_operations"]) or {}
    return Sponsor(
        id=row["id"],
        tenant_id=row["tenant_id"],
        environment=row["environment"],
        slug=row["slug"],
        name=row["name"],
        channels=tuple(Channel(c) for c in _json(row["channels"])),
        otp_operations={k: tuple(v) for k, v in operations.items()},
        active=bool(row["active"]),
    )


def _beneficiary(row: Row, sealer: Sealer) -> Beneficiary:
    phone = (
        Destination(
            DestinationKind.PHONE,
            sealer.open(row["phone"]),
            row["phone_country"],
            row["phone_line_type"],
            row["phone_calling_code"],
        )
        if row["phone"]
        else None
    )
    email = Destination(DestinationKind.EMAIL, sealer.open(row["email"])) if row["email"] else None
    return Beneficiary(
        row["tenant_id"],
        row["environment"],
        row["sponsor_id"],
        row["beneficiary_id"],
        phone,
        email,
    )


def _scope(scope: Scope) -> dict[str, str]:
    return {"tenant_id": scope.tenant_id, "environment": str(scope.environment)}


def _columns(record: type[D], row: Row) -> D:
    """``record`` built from the row's columns of its fields' names; ``channel`` as a
    :class:`Channel` (otp ids and verification tokens are stored that plainly)."""
    values = {f.name: row[f.name] for f in fields(record)}
    return record(**{**values, "channel": Channel(values["channel"])})


def _values(record: SponsorOtp | TokenRecord) -> dict[str, object]:
    """The inverse of :func:`_columns`: the record's fields as statement parameters."""
    return {**asdict(record), "channel": str(record.channel)}


def _otp(row: Row) -> SponsorOtp:
    return _columns(SponsorOtp, row)


def _token(row: Row) -> TokenRecord:
    return _columns(TokenRecord, row)


async def _one(tx: Transaction, sql: str, params: Params, read: Callable[[Row], T]) -> T | None:
    """The one row ``sql`` finds, read by ``read``; ``None`` if there is none."""
    row = await tx.fetchrow(sql, params)
    return read(row) if row is not None else None


class SqlDirectory:
    """A beneficiary's phone and email are stored sealed (``sealed.py``)."""

    __slots__ = ("sealer", "tx")

    def __init__(self, tx: Transaction, sealer: Sealer) -> None:
        self.tx = tx
        self.sealer = sealer

    async def save_sponsor(self, sponsor: Sponsor, now: float) -> Sponsor:
        row = await self.tx.fetchrow(
            _SAVE_SPONSOR,
            {
                "id": sponsor.id,
                "tenant_id": sponsor.tenant_id,
                "environment": sponsor.environment,
                "slug": sponsor.slug,
                "name": sponsor.name,
                "channels": json.dumps([str(c) for c in sponsor.channels]),
                "otp_operations": json.dumps(
                    {k: list(v) for k, v in sponsor.otp_operations.items()}
                ),
                "active": int(sponsor.active),
                "now": now,
            },
        )
        assert row is not None
        return _sponsor(row)

    async def sponsor(self, scope: Scope, slug: str) -> Sponsor | None:
        return await _one(self.tx, _SPONSOR_BY_SLUG, {**_scope(scope), "slug": slug}, _sponsor)

    async def sponsor_by_id(self, scope: Scope, sponsor_id: str) -> Sponsor | None:
        return await _one(self.tx, _SPONSOR_BY_ID, {**_scope(scope), "id": sponsor_id}, _sponsor)

    async def sponsors(self, scope: Scope) -> list[Sponsor]:
        return [_sponsor(r) for r in await self.tx.fetch(_SPONSORS, _scope(scope))]

    async def save_beneficiary(self, beneficiary: Beneficiary, now: float) -> bool:
        phone, email = beneficiary.phone, beneficiary.email
        written = await self.tx.execute(
            _SAVE_BENEFICIARY,
            {
                "tenant_id": beneficiary.tenant_id,
                "environment": beneficiary.environment,
                "sponsor_id": beneficiary.sponsor_id,
                "beneficiary_id": beneficiary.beneficiary_id,
                "phone": self.sealer.seal(phone.value) if phone else None,
                "phone_country": phone.country if phone else None,
                "phone_line_type": phone.line_type if phone else None,
                "phone_calling_code": phone.calling_code if phone else None,
                "email": self.sealer.seal(email.value) if email else None,
                "now": now,
            },
        )
        return written == 1

    async def beneficiary(
        self, scope: Scope, sponsor_id: str, beneficiary_id: str
    ) -> Beneficiary | None:
        params = {**_scope(scope), "sponsor_id": sponsor_id, "beneficiary_id": beneficiary_id}
        return await _one(
            self.tx, _BENEFICIARY_BY_ID, params, partial(_beneficiary, sealer=self.sealer)
        )

    async def remove_beneficiary(self, scope: Scope, sponsor_id: str, beneficiary_id: str) -> bool:
        params = {**_scope(scope), "sponsor_id": sponsor_id, "beneficiary_id": beneficiary_id}
        return await self.tx.execute(_REMOVE_BENEFICIARY, params) == 1


class SqlChallenges:
    __slots__ = ("tx",)

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add_otp(self, otp: SponsorOtp) -> None:
        await self.tx.execute(_ADD_OTP, _values(otp))

    async def otp(self, scope: Scope, otp_id: str) -> SponsorOtp | None:
        return await _one(self.tx, _OTP_BY_ID, {"id": otp_id, **_scope(scope)}, _otp)

    async def add_token(self, token: TokenRecord) -> None:
        await self.tx.execute(_ADD_TOKEN, _values(token))  # redeemed_at, operation: unset

    async def token(self, scope: Scope, token_hash: str) -> TokenRecord | None:
        return await _one(self.tx, _TOKEN_BY_HASH, {"key": token_hash, **_scope(scope)}, _token)

    async def token_for_otp(self, otp_id: str) -> TokenRecord | None:
        return await _one(self.tx, _TOKEN_BY_OTP, {"key": otp_id}, _token)

    async def redeem(self, scope: Scope, token_hash: str, operation: str, now: float) -> bool:
        redeemed = await self.tx.execute(
            _REDEEM,
            {"token_hash": token_hash, **_scope(scope), "operation": operation, "now": now},
        )
        return redeemed == 1
