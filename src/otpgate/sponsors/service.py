"""The sponsor flow's use-cases: ``send``, ``validate``, ``redeem``, and the directory.

```
send ──► otp_id (a core session, 300 s, 3 attempts)
validate(otp_id, code) ──► otvt_ token (600 s, stored hashed)
redeem(token, operation) ──► who was verified; exactly once
```

The core counts attempts and decides codes; this module adds the sponsor's rules
(channels, on-file destinations, which operations need an OTP), the sponsor API's
own limits, and the mapping of ``otp_id`` to session and token.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from otpgate.core.clock import Clock
from otpgate.core.errors import Forbidden, NotFound, RateLimited
from otpgate.core.model import Channel, Destination, Environment
from otpgate.core.ports import Limiter
from otpgate.core.service import OtpService, StartRequest, VerifyOutcome
from otpgate.core.session import SessionState
from otpgate.sponsors.errors import (
    AlreadyValidated,
    ChannelUnavailable,
    DeliveryFailed,
    OtpGone,
    WrongCode,
)
from otpgate.sponsors.model import (
    Beneficiary,
    Sponsor,
    SponsorOtp,
    SponsorPolicy,
    TokenRecord,
    check_channels,
    check_identifier,
    check_operation,
    check_operations,
    check_otp_id,
    check_slug,
    check_token,
)
from otpgate.sponsors.ports import ChallengeStore, SponsorDirectory
from otpgate.sponsors.tokens import hash_token, new_otp_id, new_verification_token

CONSUMED = "otp_id not found or already consumed"
TOKEN_CONSUMED = "verification token not found or already consumed"  # noqa: S105
ALREADY_VALIDATED = "OTP already validated: reuse the existing verification token or start over"


@dataclass(frozen=True, slots=True)
class SendOtp:
    tenant_id: str
    environment: Environment
    sponsor_slug: str
    beneficiary_id: str
    channel: Channel
    default_locale: str | None = None


@dataclass(frozen=True, slots=True)
class SentOtp:
    otp_id: str
    channel: Channel
    expires_in: int
    masked_destination: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    otp_verification_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class Redemption:
    otp_id: str
    sponsor_slug: str
    beneficiary_id: str
    channel: Channel
    operation: str
    verified_at: float
    redeemed_at: float


class SponsorService:
    def __init__(
        self,
        *,
        otp: OtpService,
        directory: SponsorDirectory,
        challenges: ChallengeStore,
        limiter: Limiter,
        clock: Clock,
        policy: SponsorPolicy | None = None,
    ) -> None:
        self.otp = otp
        self.directory = directory
        self.challenges = challenges
        self.limiter = limiter
        self.clock = clock
        self.policy = policy or SponsorPolicy()

    # -- the directory (admin API and CLI) ----------------------------------

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
        return await self.directory.save_sponsor(sponsor, self.clock.now())

    async def sponsor(self, tenant_id: str, slug: str) -> Sponsor:
        found = await self.directory.sponsor(tenant_id, check_slug(slug))
        if found is None:
            raise NotFound("sponsor not found")
        return found

    async def sponsors(self, tenant_id: str) -> list[Sponsor]:
        return await self.directory.sponsors(tenant_id)

    async def save_beneficiary(
        self,
        tenant_id: str,
        sponsor_slug: str,
        beneficiary_id: str,
        phone: Destination | None,
        email: Destination | None,
    ) -> Beneficiary:
        sponsor = await self.sponsor(tenant_id, sponsor_slug)
        beneficiary = Beneficiary(
            tenant_id=tenant_id,
            sponsor_id=sponsor.id,
            beneficiary_id=check_identifier(beneficiary_id, "beneficiary_id"),
            phone=phone,
            email=email,
        )
        await self.directory.save_beneficiary(beneficiary, self.clock.now())
        return beneficiary

    async def beneficiary(
        self, tenant_id: str, sponsor_slug: str, beneficiary_id: str
    ) -> Beneficiary:
        sponsor = await self.sponsor(tenant_id, sponsor_slug)
        found = await self.directory.beneficiary(
            sponsor.id, check_identifier(beneficiary_id, "beneficiary_id")
        )
        if found is None:
            raise NotFound("beneficiary not found for this sponsor")
        return found

    async def remove_beneficiary(
        self, tenant_id: str, sponsor_slug: str, beneficiary_id: str
    ) -> None:
        sponsor = await self.sponsor(tenant_id, sponsor_slug)
        check_identifier(beneficiary_id, "beneficiary_id")
        if not await self.directory.remove_beneficiary(sponsor.id, beneficiary_id):
            raise NotFound("beneficiary not found for this sponsor")

    # -- the flow -----------------------------------------------------------

    async def throttle_client(self, client_id: str) -> None:
        """The per-client limit: ``client_requests_per_minute`` on every flow call."""
        decision = await self.limiter.hit(
            f"sponsor-client:{client_id}",
            self.policy.client_requests_per_minute,
            60,
            self.clock.now(),
        )
        if not decision.allowed:
            raise RateLimited("too many requests from this client; back off", decision.retry_after)

    async def send(self, request: SendOtp) -> SentOtp:
        check_identifier(request.beneficiary_id, "beneficiary_id")
        sponsor = await self.sponsor(request.tenant_id, request.sponsor_slug)
        if not sponsor.active:
            raise Forbidden("the sponsor does not authorise OTP for this provider")
        if not sponsor.supports(request.channel):
            raise ChannelUnavailable(
                f"sponsor {sponsor.slug} does not support the {request.channel.upper()} channel"
            )
        beneficiary = await self.directory.beneficiary(sponsor.id, request.beneficiary_id)
        if beneficiary is None:
            raise NotFound("beneficiary not found for this sponsor")
        destination = beneficiary.destination_for(request.channel)
        if destination is None:
            kind = "email" if request.channel is Channel.EMAIL else "phone number"
            raise ChannelUnavailable(f"the beneficiary has no {kind} on file with this sponsor")

        now = self.clock.now()
        decision = await self.limiter.hit(
            f"sponsor-send:{sponsor.id}:{beneficiary.beneficiary_id}",
            self.policy.sends_per_hour,
            3600,
            now,
        )
        if not decision.allowed:
            raise RateLimited(
                "too many OTPs sent to this beneficiary for this sponsor; back off",
                decision.retry_after,
            )
        sent = await self.otp.start(
            StartRequest(
                tenant_id=request.tenant_id,
                environment=request.environment,
                channel=request.channel,
                destination=destination,
                brand=sponsor.name,
                ttl_seconds=self.policy.otp_ttl_seconds,
                max_attempts=self.policy.max_attempts,
                default_locale=request.default_locale,
            )
        )
        if not sent.delivered:
            raise DeliveryFailed("the OTP could not be delivered to the beneficiary")
        otp = SponsorOtp(
            id=new_otp_id(),
            tenant_id=request.tenant_id,
            environment=str(request.environment),
            sponsor_id=sponsor.id,
            beneficiary_id=beneficiary.beneficiary_id,
            session_id=sent.session.id,
            channel=request.channel,
            created_at=now,
        )
        await self.challenges.add_otp(otp)
        return SentOtp(
            otp_id=otp.id,
            channel=request.channel,
            expires_in=max(0, round(sent.session.expires_at - now)),
            masked_destination=destination.masked(),
        )

    async def validate(
        self, tenant_id: str, environment: Environment, otp_id: str, code: str
    ) -> IssuedToken:
        otp = await self.challenges.otp(tenant_id, check_otp_id(otp_id))
        if otp is None or otp.environment != str(environment):
            raise NotFound(CONSUMED)
        await self._refuse_if_validated(otp)
        result = await self.otp.verify(tenant_id, otp.session_id, code)
        session = result.session
        if result.outcome is VerifyOutcome.VERIFIED:
            return await self._issue_token(otp)
        if result.outcome is VerifyOutcome.INVALID:
            left = session.attempts_remaining
            raise WrongCode(f"wrong code; {left} attempt(s) left", left)
        if result.outcome is VerifyOutcome.MAX_ATTEMPTS:
            raise WrongCode("wrong code; the OTP is now invalidated, send a new one", 0)
        if result.outcome is VerifyOutcome.EXPIRED:
            raise OtpGone("the OTP has expired; send a new one")
        if session.state is SessionState.VERIFIED:
            await self._refuse_if_validated(otp)
            raise AlreadyValidated(ALREADY_VALIDATED)
        if session.state is SessionState.FAILED:
            raise OtpGone("the OTP was invalidated after too many wrong codes; send a new one")
        raise OtpGone("the OTP is no longer valid; send a new one")

    async def redeem(
        self,
        tenant_id: str,
        environment: Environment,
        token: str,
        operation: str,
        product_type: str | None = None,
    ) -> Redemption:
        digest = hash_token(check_token(token))
        check_operation(operation)
        if product_type is not None:
            check_identifier(product_type, "product_type")
        record = await self.challenges.token(digest)
        if record is None or record.tenant_id != tenant_id or record.environment != environment:
            raise NotFound(TOKEN_CONSUMED)
        sponsor = await self.directory.sponsor_by_id(tenant_id, record.sponsor_id)
        if sponsor is None:
            raise NotFound(TOKEN_CONSUMED)
        if not sponsor.active or not sponsor.requires_otp(operation, product_type):
            raise Forbidden(f"sponsor {sponsor.slug} does not use OTP on this operation")
        now = self.clock.now()
        if not await self.challenges.redeem(digest, tenant_id, operation, now):
            current = await self.challenges.token(digest)
            if current is not None and current.redeemed_at is None:
                raise OtpGone("the verification token has expired; run the OTP flow again")
            raise NotFound(TOKEN_CONSUMED)
        return Redemption(
            otp_id=record.otp_id,
            sponsor_slug=sponsor.slug,
            beneficiary_id=record.beneficiary_id,
            channel=record.channel,
            operation=operation,
            verified_at=record.created_at,
            redeemed_at=now,
        )

    # -- helpers ------------------------------------------------------------

    async def _refuse_if_validated(self, otp: SponsorOtp) -> None:
        token = await self.challenges.token_for_otp(otp.id)
        if token is None:
            return
        if token.redeemed_at is not None:
            raise NotFound(CONSUMED)
        raise AlreadyValidated(ALREADY_VALIDATED)

    async def _issue_token(self, otp: SponsorOtp) -> IssuedToken:
        token = new_verification_token()
        now = self.clock.now()
        await self.challenges.add_token(
            TokenRecord(
                token_hash=hash_token(token),
                otp_id=otp.id,
                tenant_id=otp.tenant_id,
                environment=otp.environment,
                sponsor_id=otp.sponsor_id,
                beneficiary_id=otp.beneficiary_id,
                channel=otp.channel,
                created_at=now,
                expires_at=now + self.policy.token_ttl_seconds,
            )
        )
        return IssuedToken(otp_verification_token=token, expires_in=self.policy.token_ttl_seconds)
