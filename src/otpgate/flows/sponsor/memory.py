"""The sponsor flow's stores in memory, for tests (see ``core/memory.py``).

Rows live in the unit of work's tables: ``sponsors`` by id, ``sponsor_beneficiaries``
by ``(sponsor_id, beneficiary_id)``, ``sponsor_otps`` by id and
``sponsor_verification_tokens`` by hash. Memory units of work are serial, so the
conditional writes (:meth:`MemoryChallenges.redeem`) are atomic by construction.
"""

from __future__ import annotations

from dataclasses import replace

from otpgate.core.memory import MemoryUnitOfWork
from otpgate.core.model import Environment, Scope
from otpgate.flows.sponsor.model import Beneficiary, Sponsor, SponsorOtp, TokenRecord


class MemoryDirectory:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def _sponsors(self) -> dict[str, Sponsor]:
        return self.uow.table("sponsors")

    def _beneficiaries(self) -> dict[tuple[str, str], Beneficiary]:
        return self.uow.table("sponsor_beneficiaries")

    async def save_sponsor(self, sponsor: Sponsor, now: float) -> Sponsor:
        scope = Scope(sponsor.tenant_id, Environment(sponsor.environment))
        existing = await self.sponsor(scope, sponsor.slug)
        saved = sponsor if existing is None else replace(sponsor, id=existing.id)
        self._sponsors()[saved.id] = saved
        return saved

    async def sponsor(self, scope: Scope, slug: str) -> Sponsor | None:
        for s in self._sponsors().values():
            if scope.holds(s.tenant_id, s.environment) and s.slug == slug:
                return s
        return None

    async def sponsor_by_id(self, scope: Scope, sponsor_id: str) -> Sponsor | None:
        s = self._sponsors().get(sponsor_id)
        return s if s is not None and scope.holds(s.tenant_id, s.environment) else None

    async def sponsors(self, scope: Scope) -> list[Sponsor]:
        return sorted(
            (s for s in self._sponsors().values() if scope.holds(s.tenant_id, s.environment)),
            key=lambda s: s.slug,
        )

    async def save_beneficiary(self, beneficiary: Beneficiary, now: float) -> bool:
        key = (beneficiary.sponsor_id, beneficiary.beneficiary_id)
        existing = self._beneficiaries().get(key)
        if existing is not None and (
            existing.tenant_id != beneficiary.tenant_id
            or existing.environment != beneficiary.environment
        ):
            return False  # another scope's row: unchanged, as in SQL
        self._beneficiaries()[key] = beneficiary
        return True

    async def beneficiary(
        self, scope: Scope, sponsor_id: str, beneficiary_id: str
    ) -> Beneficiary | None:
        b = self._beneficiaries().get((sponsor_id, beneficiary_id))
        return b if b is not None and scope.holds(b.tenant_id, b.environment) else None

    async def remove_beneficiary(self, scope: Scope, sponsor_id: str, beneficiary_id: str) -> bool:
        if await self.beneficiary(scope, sponsor_id, beneficiary_id) is None:
            return False
        return self._beneficiaries().pop((sponsor_id, beneficiary_id), None) is not None


class MemoryChallenges:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def _otps(self) -> dict[str, SponsorOtp]:
        return self.uow.table("sponsor_otps")

    def _tokens(self) -> dict[str, TokenRecord]:
        return self.uow.table("sponsor_verification_tokens")

    async def add_otp(self, otp: SponsorOtp) -> None:
        if otp.id in self._otps():
            raise ValueError("duplicate otp id")
        self._otps()[otp.id] = otp

    async def otp(self, scope: Scope, otp_id: str) -> SponsorOtp | None:
        o = self._otps().get(otp_id)
        return o if o is not None and scope.holds(o.tenant_id, o.environment) else None

    async def add_token(self, token: TokenRecord) -> None:
        tokens = self._tokens()
        if token.token_hash in tokens or any(t.otp_id == token.otp_id for t in tokens.values()):
            raise ValueError("duplicate verification token")  # both columns are unique in SQL
        tokens[token.token_hash] = token

    async def token(self, scope: Scope, token_hash: str) -> TokenRecord | None:
        t = self._tokens().get(token_hash)
        return t if t is not None and scope.holds(t.tenant_id, t.environment) else None

    async def token_for_otp(self, otp_id: str) -> TokenRecord | None:
        for t in self._tokens().values():
            if t.otp_id == otp_id:
                return t
        return None

    async def redeem(self, scope: Scope, token_hash: str, operation: str, now: float) -> bool:
        t = await self.token(scope, token_hash)
        if t is None or t.redeemed_at is not None:
            return False
        if t.expires_at <= now:
            return False
        self._tokens()[token_hash] = replace(t, redeemed_at=now, operation=operation)
        return True
