"""The sponsor flow's stores in memory, for tests (see ``core/memory.py``).

Rows live in the unit of work's tables: ``sponsors`` by id, ``sponsor_beneficiaries``
by ``(sponsor_id, beneficiary_id)``, ``sponsor_otps`` by id and
``sponsor_verification_tokens`` by hash. Memory units of work are serial, so the
conditional writes (:meth:`MemoryChallenges.redeem`) are atomic by construction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from otpgate.core.memory import MemoryUnitOfWork
from otpgate.sponsors.model import Beneficiary, Sponsor, SponsorOtp, TokenRecord


class MemoryDirectory:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def _sponsors(self) -> dict[Any, Sponsor]:
        return self.uow.table("sponsors")

    def _beneficiaries(self) -> dict[Any, Beneficiary]:
        return self.uow.table("sponsor_beneficiaries")

    async def save_sponsor(self, sponsor: Sponsor, now: float) -> Sponsor:
        existing = await self.sponsor(sponsor.tenant_id, sponsor.slug)
        saved = sponsor if existing is None else replace(sponsor, id=existing.id)
        self._sponsors()[saved.id] = saved
        return saved

    async def sponsor(self, tenant_id: str, slug: str) -> Sponsor | None:
        for s in self._sponsors().values():
            if s.tenant_id == tenant_id and s.slug == slug:
                return s
        return None

    async def sponsor_by_id(self, tenant_id: str, sponsor_id: str) -> Sponsor | None:
        s = self._sponsors().get(sponsor_id)
        return s if s is not None and s.tenant_id == tenant_id else None

    async def sponsors(self, tenant_id: str) -> list[Sponsor]:
        return sorted(
            (s for s in self._sponsors().values() if s.tenant_id == tenant_id),
            key=lambda s: s.slug,
        )

    async def save_beneficiary(self, beneficiary: Beneficiary, now: float) -> None:
        key = (beneficiary.sponsor_id, beneficiary.beneficiary_id)
        existing = self._beneficiaries().get(key)
        if existing is not None:  # the tenant stays the one that created it, as in SQL
            beneficiary = replace(beneficiary, tenant_id=existing.tenant_id)
        self._beneficiaries()[key] = beneficiary

    async def beneficiary(self, sponsor_id: str, beneficiary_id: str) -> Beneficiary | None:
        return self._beneficiaries().get((sponsor_id, beneficiary_id))

    async def remove_beneficiary(self, sponsor_id: str, beneficiary_id: str) -> bool:
        return self._beneficiaries().pop((sponsor_id, beneficiary_id), None) is not None


class MemoryChallenges:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def _otps(self) -> dict[Any, SponsorOtp]:
        return self.uow.table("sponsor_otps")

    def _tokens(self) -> dict[Any, TokenRecord]:
        return self.uow.table("sponsor_verification_tokens")

    async def add_otp(self, otp: SponsorOtp) -> None:
        if otp.id in self._otps():
            raise ValueError("duplicate otp id")
        self._otps()[otp.id] = otp

    async def otp(self, tenant_id: str, otp_id: str) -> SponsorOtp | None:
        o = self._otps().get(otp_id)
        return o if o is not None and o.tenant_id == tenant_id else None

    async def add_token(self, token: TokenRecord) -> None:
        tokens = self._tokens()
        if token.token_hash in tokens or any(t.otp_id == token.otp_id for t in tokens.values()):
            raise ValueError("duplicate verification token")  # both columns are unique in SQL
        tokens[token.token_hash] = token

    async def token(self, token_hash: str) -> TokenRecord | None:
        return self._tokens().get(token_hash)

    async def token_for_otp(self, otp_id: str) -> TokenRecord | None:
        for t in self._tokens().values():
            if t.otp_id == otp_id:
                return t
        return None

    async def redeem(self, token_hash: str, tenant_id: str, operation: str, now: float) -> bool:
        t = self._tokens().get(token_hash)
        if t is None or t.tenant_id != tenant_id or t.redeemed_at is not None:
            return False
        if t.expires_at <= now:
            return False
        self._tokens()[token_hash] = replace(t, redeemed_at=now, operation=operation)
        return True
