"""SQL storage of the sponsor flow: the directory, otp ids and hashed verification tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.core.model import Channel, Destination, DestinationKind
from otpgate.sponsors.model import Beneficiary, Sponsor, SponsorOtp, TokenRecord
from otpgate.storage.tables import beneficiaries, sponsor_otps, sponsors, verification_tokens
from otpgate.storage.upsert import insert_for


def _sponsor(row: Any) -> Sponsor:
    return Sponsor(
        id=row.id,
        tenant_id=row.tenant_id,
        slug=row.slug,
        name=row.name,
        channels=tuple(Channel(c) for c in row.channels),
        otp_operations={k: tuple(v) for k, v in dict(row.otp_operations).items()},
        active=bool(row.active),
    )


def _beneficiary(row: Any) -> Beneficiary:
    phone = (
        Destination(
            DestinationKind.PHONE,
            row.phone,
            row.phone_country,
            row.phone_line_type,
            row.phone_calling_code,
        )
        if row.phone
        else None
    )
    email = Destination(DestinationKind.EMAIL, row.email) if row.email else None
    return Beneficiary(row.tenant_id, row.sponsor_id, row.beneficiary_id, phone, email)


def _token(row: Any) -> TokenRecord:
    return TokenRecord(
        token_hash=row.token_hash,
        otp_id=row.otp_id,
        tenant_id=row.tenant_id,
        environment=row.environment,
        sponsor_id=row.sponsor_id,
        beneficiary_id=row.beneficiary_id,
        channel=Channel(row.channel),
        created_at=row.created_at,
        expires_at=row.expires_at,
        redeemed_at=row.redeemed_at,
        operation=row.operation,
    )


class SqlSponsorDirectory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save_sponsor(self, sponsor: Sponsor, now: float) -> Sponsor:
        fields = {
            "name": sponsor.name,
            "channels": [str(c) for c in sponsor.channels],
            "otp_operations": {k: list(v) for k, v in sponsor.otp_operations.items()},
            "active": int(sponsor.active),
            "updated_at": now,
        }
        stmt = insert_for(self.engine, sponsors).values(
            id=sponsor.id, tenant_id=sponsor.tenant_id, slug=sponsor.slug, created_at=now, **fields
        )
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "slug"], set_=fields)
        async with self.engine.begin() as conn:
            await conn.execute(stmt)
        saved = await self.sponsor(sponsor.tenant_id, sponsor.slug)
        assert saved is not None
        return saved

    async def sponsor(self, tenant_id: str, slug: str) -> Sponsor | None:
        return await self._one(sponsors.c.tenant_id == tenant_id, sponsors.c.slug == slug)

    async def sponsor_by_id(self, tenant_id: str, sponsor_id: str) -> Sponsor | None:
        return await self._one(sponsors.c.tenant_id == tenant_id, sponsors.c.id == sponsor_id)

    async def sponsors(self, tenant_id: str) -> list[Sponsor]:
        stmt = select(sponsors).where(sponsors.c.tenant_id == tenant_id).order_by(sponsors.c.slug)
        async with self.engine.connect() as conn:
            return [_sponsor(r) for r in (await conn.execute(stmt)).all()]

    async def _one(self, *where: Any) -> Sponsor | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(sponsors).where(*where))).first()
        return _sponsor(row) if row is not None else None

    async def save_beneficiary(self, beneficiary: Beneficiary, now: float) -> None:
        phone, email = beneficiary.phone, beneficiary.email
        fields = {
            "phone": phone.value if phone else None,
            "phone_country": phone.country if phone else None,
            "phone_line_type": phone.line_type if phone else None,
            "phone_calling_code": phone.calling_code if phone else None,
            "email": email.value if email else None,
            "updated_at": now,
        }
        stmt = insert_for(self.engine, beneficiaries).values(
            sponsor_id=beneficiary.sponsor_id,
            beneficiary_id=beneficiary.beneficiary_id,
            tenant_id=beneficiary.tenant_id,
            created_at=now,
            **fields,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["sponsor_id", "beneficiary_id"], set_=fields
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def beneficiary(self, sponsor_id: str, beneficiary_id: str) -> Beneficiary | None:
        stmt = select(beneficiaries).where(
            beneficiaries.c.sponsor_id == sponsor_id,
            beneficiaries.c.beneficiary_id == beneficiary_id,
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return _beneficiary(row) if row is not None else None

    async def remove_beneficiary(self, sponsor_id: str, beneficiary_id: str) -> bool:
        stmt = delete(beneficiaries).where(
            beneficiaries.c.sponsor_id == sponsor_id,
            beneficiaries.c.beneficiary_id == beneficiary_id,
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount == 1


class SqlChallengeStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add_otp(self, otp: SponsorOtp) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(sponsor_otps).values(
                    id=otp.id,
                    tenant_id=otp.tenant_id,
                    environment=otp.environment,
                    sponsor_id=otp.sponsor_id,
                    beneficiary_id=otp.beneficiary_id,
                    session_id=otp.session_id,
                    channel=str(otp.channel),
                    created_at=otp.created_at,
                )
            )

    async def otp(self, tenant_id: str, otp_id: str) -> SponsorOtp | None:
        stmt = select(sponsor_otps).where(
            sponsor_otps.c.id == otp_id, sponsor_otps.c.tenant_id == tenant_id
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return SponsorOtp(
            id=row.id,
            tenant_id=row.tenant_id,
            environment=row.environment,
            sponsor_id=row.sponsor_id,
            beneficiary_id=row.beneficiary_id,
            session_id=row.session_id,
            channel=Channel(row.channel),
            created_at=row.created_at,
        )

    async def add_token(self, token: TokenRecord) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(verification_tokens).values(
                    token_hash=token.token_hash,
                    otp_id=token.otp_id,
                    tenant_id=token.tenant_id,
                    environment=token.environment,
                    sponsor_id=token.sponsor_id,
                    beneficiary_id=token.beneficiary_id,
                    channel=str(token.channel),
                    created_at=token.created_at,
                    expires_at=token.expires_at,
                )
            )

    async def token(self, token_hash: str) -> TokenRecord | None:
        return await self._token(verification_tokens.c.token_hash == token_hash)

    async def token_for_otp(self, otp_id: str) -> TokenRecord | None:
        return await self._token(verification_tokens.c.otp_id == otp_id)

    async def _token(self, where: Any) -> TokenRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(verification_tokens).where(where))).first()
        return _token(row) if row is not None else None

    async def redeem(self, token_hash: str, tenant_id: str, operation: str, now: float) -> bool:
        stmt = (
            update(verification_tokens)
            .where(
                verification_tokens.c.token_hash == token_hash,
                verification_tokens.c.tenant_id == tenant_id,
                verification_tokens.c.redeemed_at.is_(None),
                verification_tokens.c.expires_at > now,
            )
            .values(redeemed_at=now, operation=operation)
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount == 1
