"""The sponsor directory's use cases (the admin API and the CLI), each one unit of work.

Every change is audited in the unit of work that makes it. Events carry ids, states and
counts only: never a phone number, an email, a name or a token.

========================  ==============================================
subject_type              actions
========================  ==============================================
``sponsor``               ``saved``
``beneficiary``           ``saved``, ``removed``
``sponsor_otp``           ``created`` (``service.py``)
``verification_token``    ``issued``, ``redeemed`` (``service.py``)
========================  ==============================================
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from otpgate.core.clock import Clock
from otpgate.core.errors import NotFound
from otpgate.core.model import AuditEvent, Channel, Destination
from otpgate.sponsors.model import (
    Beneficiary,
    Sponsor,
    check_channels,
    check_identifier,
    check_operations,
    check_slug,
)
from otpgate.sponsors.ports import SponsorUnitOfWork, SponsorUnitOfWorkFactory


class SponsorAdmin:
    def __init__(self, *, uow: SponsorUnitOfWorkFactory, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    async def save_sponsor(
        self,
        tenant_id: str,
        slug: str,
        name: str,
        channels: Sequence[Channel],
        otp_operations: Mapping[str, Sequence[str]],
        active: bool = True,
    ) -> Sponsor:
        sponsor = Sponsor(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            slug=check_slug(slug, "slug"),
            name=name,
            channels=check_channels(channels),
            otp_operations=check_operations(otp_operations),
            active=active,
        )
        now = self.clock.now()
        async with self.uow() as uow:
            saved = await uow.directory.save_sponsor(sponsor, now)
            detail: dict[str, object] = {
                "slug": saved.slug,
                "channels": [str(c) for c in saved.channels],
                "active": saved.active,
            }
            await audit(uow, saved.tenant_id, "sponsor", saved.id, "saved", now, detail)
            await uow.commit()
        return saved

    async def sponsor(self, tenant_id: str, slug: str) -> Sponsor:
        check_slug(slug)
        async with self.uow.reading() as uow:
            return await find_sponsor(uow, tenant_id, slug)

    async def sponsors(self, tenant_id: str) -> list[Sponsor]:
        async with self.uow.reading() as uow:
            return await uow.directory.sponsors(tenant_id)

    async def save_beneficiary(
        self,
        tenant_id: str,
        sponsor_slug: str,
        beneficiary_id: str,
        phone: Destination | None,
        email: Destination | None,
    ) -> Beneficiary:
        check_slug(sponsor_slug)
        check_identifier(beneficiary_id, "beneficiary_id")
        now = self.clock.now()
        async with self.uow() as uow:
            sponsor = await find_sponsor(uow, tenant_id, sponsor_slug)
            beneficiary = Beneficiary(tenant_id, sponsor.id, beneficiary_id, phone, email)
            await uow.directory.save_beneficiary(beneficiary, now)
            detail: dict[str, object] = {
                "sponsor_id": sponsor.id,
                "has_phone": phone is not None,
                "has_email": email is not None,
            }
            await audit(uow, tenant_id, "beneficiary", beneficiary_id, "saved", now, detail)
            await uow.commit()
        return beneficiary

    async def beneficiary(
        self, tenant_id: str, sponsor_slug: str, beneficiary_id: str
    ) -> Beneficiary:
        check_slug(sponsor_slug)
        check_identifier(beneficiary_id, "beneficiary_id")
        async with self.uow.reading() as uow:
            sponsor = await find_sponsor(uow, tenant_id, sponsor_slug)
            found = await uow.directory.beneficiary(sponsor.id, beneficiary_id)
        if found is None:
            raise NotFound("beneficiary not found for this sponsor")
        return found

    async def remove_beneficiary(
        self, tenant_id: str, sponsor_slug: str, beneficiary_id: str
    ) -> None:
        check_slug(sponsor_slug)
        check_identifier(beneficiary_id, "beneficiary_id")
        now = self.clock.now()
        async with self.uow() as uow:
            sponsor = await find_sponsor(uow, tenant_id, sponsor_slug)
            if not await uow.directory.remove_beneficiary(sponsor.id, beneficiary_id):
                raise NotFound("beneficiary not found for this sponsor")
            detail: dict[str, object] = {"sponsor_id": sponsor.id}
            await audit(uow, tenant_id, "beneficiary", beneficiary_id, "removed", now, detail)
            await uow.commit()


async def find_sponsor(uow: SponsorUnitOfWork, tenant_id: str, slug: str) -> Sponsor:
    found = await uow.directory.sponsor(tenant_id, slug)
    if found is None:
        raise NotFound("sponsor not found")
    return found


async def audit(
    uow: SponsorUnitOfWork,
    tenant_id: str,
    subject_type: str,
    subject_id: str,
    action: str,
    at: float,
    detail: dict[str, object] | None,
) -> None:
    await uow.audit.record(
        AuditEvent(
            tenant_id=tenant_id,
            subject_type=subject_type,
            subject_id=subject_id,
            action=action,
            at=at,
            detail=detail,
        )
    )
