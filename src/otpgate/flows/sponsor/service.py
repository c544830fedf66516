"""The sponsor flow's use-cases: ``send``, ``validate``, ``redeem`` (directory: ``directory.py``).

```
send ──► otp_id (a core session, 300 s, 3 attempts)
validate(otp_id, code) ──► otvt_ token (600 s, stored hashed)
redeem(token, operation) ──► who was verified; exactly once
```

The core counts attempts and decides codes; this module adds the sponsor's rules
(channels, on-file destinations, which operations need an OTP), the sponsor API's
own limits, and the mapping of ``otp_id`` to session and token.

Every use case is one unit of work (``ports.py``), its audit events included.
Outside counters (Redis, ``otp.limiter``) are hit before it opens; when they cannot
count, the same limits are counted in it (``uow.counters``). A refusal (a wrong code,
an unknown id, a limit) is an answer: its unit of work commits what it counted (the
attempt, the client's request) before the error leaves. Only a malformed code rolls
back, as the core requires, so that it costs no attempt. A send to a provider happens
after COMMIT, and its outcome is recorded by a second short unit of work; a sandbox
(outbox) send is one unit of work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from otpgate.core.clock import Clock
from otpgate.core.errors import Forbidden, InvalidInput, NotFound, OtpError, RateLimited
from otpgate.core.model import Channel, Destination, Environment, RateDecision, Scope
from otpgate.core.service import OtpService, Precount, StartRequest, VerifyOutcome
from otpgate.flows.sponsor.directory import SponsorAdmin, audit, find_sponsor
from otpgate.flows.sponsor.errors import (
    AlreadyValidated,
    ChannelUnavailable,
    DeliveryFailed,
    OtpGone,
    WrongCode,
)
from otpgate.flows.sponsor.model import (
    Beneficiary,
    ClientBudget,
    Sponsor,
    SponsorOtp,
    SponsorPolicy,
    TokenRecord,
    check_identifier,
    check_operation,
    check_otp_id,
    check_slug,
    check_token,
)
from otpgate.flows.sponsor.ports import SponsorUnitOfWork, SponsorUnitOfWorkFactory
from otpgate.flows.sponsor.states import TRANSITIONS, OtpState, session_state, token_state
from otpgate.flows.sponsor.tokens import SponsorIds, hash_token

T = TypeVar("T")

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
    ip_address: str | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.tenant_id, self.environment)


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


@dataclass(frozen=True, slots=True)
class _Target:
    """Who a send goes to, as the directory has them."""

    sponsor: Sponsor
    beneficiary: Beneficiary
    destination: Destination


class _Discard(Exception):
    """Leaves a unit of work without committing anything it wrote, answering ``error``."""

    def __init__(self, error: OtpError) -> None:
        super().__init__(error.message)
        self.error = error


class SponsorService(SponsorAdmin):
    """The flow, and the directory's use cases (:class:`SponsorAdmin`)."""

    def __init__(
        self,
        *,
        otp: OtpService,
        uow: SponsorUnitOfWorkFactory,
        clock: Clock,
        ids: SponsorIds,
        policy: SponsorPolicy | None = None,
    ) -> None:
        """``ids`` makes otp ids and verification tokens (the wiring gives it a ULID maker)."""
        super().__init__(uow=uow, clock=clock)
        self.otp = otp
        self.ids = ids
        self.policy = policy or SponsorPolicy()

    async def sponsor(self, scope: Scope, slug: str, client: ClientBudget | None = None) -> Sponsor:
        """A sponsor by slug; ``client``: the sponsor API's caller, charged for the read."""
        if client is None or client.charged:
            return await super().sponsor(scope, slug)
        check_slug(slug)
        return await self._once(client, lambda uow, now: find_sponsor(uow, scope, slug))

    # -- the client's budget (every sponsor API request) --------------------

    async def admit(self, key_id: str) -> ClientBudget:
        """Before anything else a request does: its client's budget, counted outside if the
        limiter can (``RateLimited`` when spent); else its use case counts it inside."""
        decision = await self.otp.limiter.hit(
            self._client_key(key_id), self.policy.client_requests_per_minute, 60, self.clock.now()
        )
        if decision is not None and not decision.allowed:
            raise RateLimited("too many requests from this client; back off", decision.retry_after)
        return ClientBudget(key_id, decision, charged=decision is not None)

    async def settle(self, client: ClientBudget) -> None:
        """Charge a request that failed before its unit of work committed (bad input, a
        malformed code): a short unit of work of its own. ``RateLimited`` when the budget
        was spent: that, not its other error, is then the request's answer."""
        if client.charged:
            return
        async with self.uow() as uow:
            await self._charge(uow, client, self.clock.now())
            await uow.commit()
        client.charged = True

    # -- the flow -----------------------------------------------------------

    async def send(self, request: SendOtp, client: ClientBudget | None = None) -> SentOtp:
        check_identifier(request.beneficiary_id, "beneficiary_id")
        check_slug(request.sponsor_slug)
        now = self.clock.now()
        early: _Target | None = None
        pre, bnf = Precount(), None
        if client is None or client.decision is not None:
            # The outside limiter counts: it needs the sponsor and the destination, read
            # before the unit of work that writes.
            async with self.uow.reading() as uow:
                early = await self._target(uow, request)
            bnf = await self.otp.limiter.hit(
                self._beneficiary_key(early), self.policy.sends_per_hour, 3600, now
            )
            self._check_beneficiary(bnf)
            key = self.otp.destination_key(request.tenant_id, early.destination)
            pre = await self.otp.precount(key, now)

        async with self.uow() as uow:
            try:
                await self._charge(uow, client, now)
                target = await self._target(uow, request)
                if early is not None and target.destination != early.destination:
                    pre = Precount()  # changed meanwhile: count the new one here
                self._check_beneficiary(
                    bnf
                    or await uow.counters.hit(
                        self._beneficiary_key(target), self.policy.sends_per_hour, 3600, now
                    )
                )
                dispatch = await self.otp.open(
                    uow,
                    StartRequest(
                        tenant_id=request.tenant_id,
                        environment=request.environment,
                        channel=request.channel,
                        destination=target.destination,
                        brand=target.sponsor.name,
                        ttl_seconds=self.policy.otp_ttl_seconds,
                        max_attempts=self.policy.max_attempts,
                        default_locale=request.default_locale,
                        ip_address=request.ip_address,
                    ),
                    now,
                    pre,
                )
                delivered = dispatch.result.ok if dispatch.result is not None else True
                otp = SponsorOtp(
                    id=self.ids.otp_id(),
                    tenant_id=request.tenant_id,
                    environment=str(request.environment),
                    sponsor_id=target.sponsor.id,
                    beneficiary_id=target.beneficiary.beneficiary_id,
                    session_id=dispatch.session.id,
                    channel=request.channel,
                    created_at=now,
                )
                if delivered:  # a sandbox delivery that failed leaves no otp id
                    await self._add_otp(uow, otp)
                if dispatch.result is not None:  # the outbox: recorded in this same unit
                    await self.otp.record(uow, dispatch, dispatch.result, now)
            except OtpError:
                await self._commit(uow, client)
                raise
            await self._commit(uow, client)

        if dispatch.pending:
            result = await self.otp.send(dispatch)
            async with self.uow() as uow:
                await self.otp.record(uow, dispatch, result, self.clock.now())
                await uow.commit()
            delivered = result.ok
            if not delivered:  # the otp id was stored before the send: its code never came
                TRANSITIONS.move(OtpState.SENT, OtpState.UNDELIVERED)
        if not delivered:
            raise DeliveryFailed("the OTP could not be delivered to the beneficiary")
        return SentOtp(
            otp_id=otp.id,
            channel=request.channel,
            expires_in=max(0, round(dispatch.session.expires_at - now)),
            masked_destination=target.destination.masked(),
        )

    async def validate(
        self,
        tenant_id: str,
        environment: Environment,
        otp_id: str,
        code: str,
        client: ClientBudget | None = None,
    ) -> IssuedToken:
        check_otp_id(otp_id)
        scope = Scope(tenant_id, environment)
        pre = await self.otp.precount_verify(otp_id, self.clock.now())

        async def work(uow: SponsorUnitOfWork, now: float) -> IssuedToken:
            otp = await uow.challenges.otp(scope, otp_id)
            if otp is None:
                raise NotFound(CONSUMED)
            await _refuse_if_validated(uow, otp, now)
            try:
                result = await self.otp.verify(
                    uow, tenant_id, otp.session_id, code, now, subject=otp_id, pre=pre
                )
            except InvalidInput as exc:  # a malformed code is not a guess: undo its claim
                raise _Discard(exc) from exc
            session = result.session
            after = _AFTER_CODE.get(result.outcome)
            if after is None:  # the OTP was over before this code: say how
                over = session_state(session.state)
                if over is OtpState.VALIDATED:
                    await _refuse_if_validated(uow, otp, now)
                    raise AlreadyValidated(ALREADY_VALIDATED)
                if over is OtpState.INVALIDATED:
                    raise OtpGone(
                        "the OTP was invalidated after too many wrong codes; send a new one"
                    )
                raise OtpGone("the OTP is no longer valid; send a new one")
            TRANSITIONS.move(OtpState.SENT, after)
            if after is OtpState.VALIDATED:
                return await self._issue_token(uow, otp, now)
            if after is OtpState.SENT:
                left = session.attempts_remaining
                raise WrongCode(f"wrong code; {left} attempt(s) left", left)
            if after is OtpState.INVALIDATED:
                raise WrongCode("wrong code; the OTP is now invalidated, send a new one", 0)
            raise OtpGone("the OTP has expired; send a new one")

        return await self._once(client, work)

    async def redeem(
        self,
        tenant_id: str,
        environment: Environment,
        token: str,
        operation: str,
        product_type: str | None = None,
        client: ClientBudget | None = None,
    ) -> Redemption:
        digest = hash_token(check_token(token))
        check_operation(operation)
        if product_type is not None:
            check_identifier(product_type, "product_type")

        scope = Scope(tenant_id, environment)

        async def work(uow: SponsorUnitOfWork, now: float) -> Redemption:
            record = await uow.challenges.token(scope, digest)
            if record is None:
                raise NotFound(TOKEN_CONSUMED)
            sponsor = await uow.directory.sponsor_by_id(scope, record.sponsor_id)
            if sponsor is None:
                raise NotFound(TOKEN_CONSUMED)
            if not sponsor.active or not sponsor.requires_otp(operation, product_type):
                raise Forbidden(f"sponsor {sponsor.slug} does not use OTP on this operation")
            if not TRANSITIONS.allows(token_state(record, now), OtpState.REDEEMED):
                raise _not_redeemable(token_state(record, now))
            if not await uow.challenges.redeem(scope, digest, operation, now):
                current = await uow.challenges.token(scope, digest)  # a concurrent redeem won
                raise _not_redeemable(
                    token_state(current, now) if current is not None else OtpState.REDEEMED
                )
            detail: dict[str, object] = {"operation": operation}
            await audit(
                uow, tenant_id, "verification_token", record.otp_id, "redeemed", now, detail
            )
            return Redemption(
                otp_id=record.otp_id,
                sponsor_slug=sponsor.slug,
                beneficiary_id=record.beneficiary_id,
                channel=record.channel,
                operation=operation,
                verified_at=record.created_at,
                redeemed_at=now,
            )

        return await self._once(client, work)

    # -- helpers ------------------------------------------------------------

    async def _once(
        self,
        client: ClientBudget | None,
        work: Callable[[SponsorUnitOfWork, float], Awaitable[T]],
    ) -> T:
        """``work`` in one unit of work that charges ``client`` first. A refusal commits
        what it counted; ``_Discard`` commits nothing."""
        now = self.clock.now()
        try:
            async with self.uow() as uow:
                try:
                    await self._charge(uow, client, now)
                    result = await work(uow, now)
                except OtpError:
                    await self._commit(uow, client)
                    raise
                await self._commit(uow, client)
                return result
        except _Discard as discarded:
            raise discarded.error from None

    async def _charge(
        self, uow: SponsorUnitOfWork, client: ClientBudget | None, now: float
    ) -> None:
        if client is None or client.charged:
            return
        decision = await uow.counters.hit(
            self._client_key(client.key_id), self.policy.client_requests_per_minute, 60, now
        )
        if not decision.allowed:
            client.charged = True  # this request's answer is the refusal; nothing to count
            raise RateLimited("too many requests from this client; back off", decision.retry_after)

    async def _commit(self, uow: SponsorUnitOfWork, client: ClientBudget | None) -> None:
        await uow.commit()
        if client is not None:
            client.charged = True

    @staticmethod
    def _client_key(key_id: str) -> str:
        return f"sponsor-client:{key_id}"

    @staticmethod
    def _beneficiary_key(target: _Target) -> str:
        return f"sponsor-send:{target.sponsor.id}:{target.beneficiary.beneficiary_id}"

    @staticmethod
    def _check_beneficiary(decision: RateDecision | None) -> None:
        if decision is not None and not decision.allowed:
            raise RateLimited(
                "too many OTPs sent to this beneficiary for this sponsor; back off",
                decision.retry_after,
            )

    async def _target(self, uow: SponsorUnitOfWork, request: SendOtp) -> _Target:
        sponsor = await find_sponsor(uow, request.scope, request.sponsor_slug)
        if not sponsor.active:
            raise Forbidden("the sponsor does not authorise OTP for this provider")
        if not sponsor.supports(request.channel):
            raise ChannelUnavailable(
                f"sponsor {sponsor.slug} does not support the {request.channel.upper()} channel"
            )
        beneficiary = await uow.directory.beneficiary(
            request.scope, sponsor.id, request.beneficiary_id
        )
        if beneficiary is None:
            raise NotFound("beneficiary not found for this sponsor")
        destination = beneficiary.destination_for(request.channel)
        if destination is None:
            kind = "email" if request.channel is Channel.EMAIL else "phone number"
            raise ChannelUnavailable(f"the beneficiary has no {kind} on file with this sponsor")
        return _Target(sponsor, beneficiary, destination)

    async def _add_otp(self, uow: SponsorUnitOfWork, otp: SponsorOtp) -> None:
        await uow.challenges.add_otp(otp)
        detail: dict[str, object] = {
            "session_id": otp.session_id,
            "sponsor_id": otp.sponsor_id,
            "channel": str(otp.channel),
        }
        await audit(uow, otp.tenant_id, "sponsor_otp", otp.id, "created", otp.created_at, detail)

    async def _issue_token(
        self, uow: SponsorUnitOfWork, otp: SponsorOtp, now: float
    ) -> IssuedToken:
        token = self.ids.verification_token()
        record = TokenRecord(
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
        await uow.challenges.add_token(record)
        detail: dict[str, object] = {"expires_at": record.expires_at}
        await audit(uow, otp.tenant_id, "verification_token", otp.id, "issued", now, detail)
        return IssuedToken(otp_verification_token=token, expires_in=self.policy.token_ttl_seconds)


_AFTER_CODE = {
    VerifyOutcome.VERIFIED: OtpState.VALIDATED,
    VerifyOutcome.INVALID: OtpState.SENT,
    VerifyOutcome.MAX_ATTEMPTS: OtpState.INVALIDATED,
    VerifyOutcome.EXPIRED: OtpState.EXPIRED,
}
"""Where a code moves a sent OTP (``VerifyOutcome.CLOSED``: it was over already)."""


async def _refuse_if_validated(uow: SponsorUnitOfWork, otp: SponsorOtp, now: float) -> None:
    """Refuse a code for an OTP that already has its verification token."""
    token = await uow.challenges.token_for_otp(otp.id)
    if token is None:
        return
    if token_state(token, now) is OtpState.REDEEMED:
        raise NotFound(CONSUMED)
    raise AlreadyValidated(ALREADY_VALIDATED)


def _not_redeemable(state: OtpState) -> OtpError:
    """The answer to redeeming a token in ``state``, which the table does not redeem."""
    if state is OtpState.LAPSED:
        return OtpGone("the verification token has expired; run the OTP flow again")
    return NotFound(TOKEN_CONSUMED)
