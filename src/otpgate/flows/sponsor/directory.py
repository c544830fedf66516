"""The sponsor directory's use cases (the admin API and the CLI), each one unit of work.

Each use case acts for one :class:`Scope` (the caller key's tenant and environment):
another tenant's sponsor, or the other environment's, is not found (404), and never
changed. The same slug may name one sponsor in each environment.

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
from otpgate.core.errors import InvalidInput, NotFound
from otpgate.core.model import AuditEvent, Channel, Destination, Scope
from otpgate.flows.sponsor.model import (
    Beneficiary,
    Sponsor,
    check_channels,
    check_identifier,
    check_operations,
    check_slug,
)
from otpgate.flows.sponsor.ports import SponsorUnitOfWork, SponsorUnitOfWorkFactory


class SponsorAdmin:
    def __init__(self, *, uow: SponsorUnitOfWorkFactory, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    async def save_sponsor(
        self,
        scope: Scope,
        slug: str,
        name: str,
        channels: Sequence[Channel],
        otp_operations: Mapping[str, Sequence[str]],
        active: bool = True,
    ) -> Sponsor:
        sponsor = Sponsor(
            id=str(uuid.uuid4()),
            tenant_id=scope.tenant_id,
            environment=str(scope.environment),
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

    async def sponsor(self, scope: Scope, slug: str) -> Sponsor:
        check_slug(slug)
        async with self.uow.reading() as uow:
            return await find_sponsor(uow, scope, slug)

    async def sponsors(self, scope: Scope) -> list[Sponsor]:
        async with self.uow.reading() as uow:
            return await uow.directory.sponsors(scope)

    async def save_beneficiary(
        self,
        scope: Scope,
        sponsor_slug: str,
        beneficiary_id: str,
        phone: Destination | None,
        email: Destination | None,
    ) -> Beneficiary:
        """Add a beneficiary or replace their on-file destinations: a phone, an email or
        both, never neither."""
        if phone is None and email is None:
            raise InvalidInput("phone_number", "a beneficiary needs a phone_number or an email")
        check_slug(sponsor_slug)
        check_identifier(beneficiary_id, "beneficiary_id")
        now = self.clock.now()
        async with self.uow() as uow:
            sponsor = await find_sponsor(uow, scope, sponsor_slug)
            beneficiary = Beneficiary(
                scope.tenant_id, str(scope.environment), sponsor.id, beneficiary_id, phone, email
            )
            if not await uow.directory.save_beneficiary(beneficiary, now):
                raise NotFound("beneficiary not found for this sponsor")
            detail: dict[str, object] = {
                "sponsor_id": sponsor.id,
                "has_phone": phone is not None,
                "has_email": email is not None,
            }
            await audit(uow, scope.tenant_id, "beneficiary", beneficiary_id, "saved", now, detail)
            await uow.commit()
        return beneficiary

    async def beneficiary(
        self, scope: Scope, sponsor_slug: str, beneficiary_id: str
    ) -> Beneficiary:
        check_slug(sponsor_slug)
        check_identifier(beneficiary_id, "beneficiary_id")
        async with self.uow.reading() as uow:
            sponsor = await find_sponsor(uow, scope, sponsor_slug)
            found = await uow.directory.beneficiary(scope, sponsor.id, beneficiary_id)
        if found is None:
            raise NotFound("beneficiary not found for this sponsor")
        return found

    async def remove_beneficiary(
        self, scope: Scope, sponsor_slug: str, beneficiary_id: str
    ) -> None:
        check_slug(sponsor_slug)
        check_identifier(beneficiary_id, "beneficiary_id")
        now = self.clock.now()
        async with self.uow() as uow:
            sponsor = await find_sponsor(uow, scope, sponsor_slug)
            if not await uow.directory.remove_beneficiary(scope, sponsor.id, beneficiary_id):
                raise NotFound("beneficiary not found for this sponsor")
            detail: dict[str, object] = {"sponsor_id": sponsor.id}
            await audit(uow, scope.tenant_id, "beneficiary", beneficiary_id, "removed", now, detail)
            await uow.commit()


async def find_sponsor(uow: SponsorUnitOfWork, scope: Scope, slug: str) -> Sponsor:
    found = await uow.directory.sponsor(scope, slug)
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
