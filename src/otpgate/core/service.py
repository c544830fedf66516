"""The verification use-cases: open a session, deliver its code, verify, cancel.

Every step takes the caller's unit of work (``core/uow.py``), so that a flow (the
evaluation API, the gateway, the sponsor API) makes its own changes and the core's in
one transaction. A send is three phases:

1. before the unit of work: :meth:`OtpService.precount` counts the send in the outside
   limiter (Redis), if there is one;
2. inside it: :meth:`OtpService.open` (or :meth:`OtpService.redeliver`) passes the abuse
   guard (``core/guard.py``), checks the lockout, counts the send in the database when
   Redis did not, creates the session and builds a :class:`Dispatch`. A sandbox
   (outbox) message is kept in this same transaction, so the whole send is one unit of
   work;
3. after COMMIT: :meth:`OtpService.send` hands a real message to its provider, and a
   second short unit of work records the outcome (:meth:`OtpService.record`).

A crash between 2 and 3 leaves a pending session whose code was never sent: the user
asks for a resend, or the caller resumes without OTP; nothing is stuck.

Attempt counting follows one rule: raise the counter *before* comparing the code, in
one atomic statement that returns the session as it now stands, and consume a session
with a conditional transition. No interleaving of requests can then evaluate more than
``max_attempts`` guesses or see the success transition twice.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from otpgate.core import sandbox
from otpgate.core.canonical import canonical_destination
from otpgate.core.clock import Clock
from otpgate.core.codes import Keyring, is_well_formed, new_nonce
from otpgate.core.errors import (
    Conflict,
    DestinationLocked,
    InvalidInput,
    NotFound,
    RateLimited,
)
from otpgate.core.guard import Guard, GuardedSend, Refusal
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.model import (
    AuditEvent,
    Channel,
    DeliveryResult,
    Destination,
    Environment,
    OutgoingMessage,
    Policy,
    RateDecision,
)
from otpgate.core.ports import Courier, Limiter
from otpgate.core.session import SessionState, VerificationSession
from otpgate.core.uow import UnitOfWork, UnitOfWorkFactory

SANDBOX_PROVIDER = "outbox"


class VerifyOutcome(enum.StrEnum):
    VERIFIED = "verified"
    INVALID = "invalid"
    MAX_ATTEMPTS = "max_attempts"
    EXPIRED = "expired"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class StartRequest:
    tenant_id: str
    environment: Environment
    channel: Channel
    destination: Destination
    locale: str | None = None
    brand: str | None = None
    ttl_seconds: int | None = None
    max_attempts: int | None = None
    default_locale: str | None = None
    message_template: str | None = None
    """A front-end's own text for this one delivery, with ``{pin}`` where the code goes."""
    session_id: str | None = None
    """The new session's id, when the caller must write it before the session exists."""
    ip_address: str | None = None
    """The end user's IP address, when the caller knows it: the guard limits sends per
    address (``OTPGATE_GUARD_IP_SENDS_PER_HOUR``)."""


@dataclass(frozen=True, slots=True)
class Precount:
    """What the outside limiter said before the unit of work opened (``None``: count inside)."""

    send: RateDecision | None = None
    failed_open: bool = False
    """The outside limiter is configured but could not be reached: the send is counted
    in the database instead, under the ordinary limits, and the guard says it failed open."""


@dataclass(frozen=True, slots=True)
class Dispatch:
    """A code on its way: delivered already (``result``, the outbox) or after COMMIT."""

    session: VerificationSession
    message: OutgoingMessage | None
    result: DeliveryResult | None = None
    first: bool = True
    """The session's first delivery (a failed one leaves it ``undelivered``)."""

    @property
    def pending(self) -> bool:
        """A provider must still carry it, after the unit of work commits."""
        return self.result is None


@dataclass(frozen=True, slots=True)
class SendResult:
    session: VerificationSession
    delivery: DeliveryResult

    @property
    def delivered(self) -> bool:
        return self.delivery.ok


@dataclass(frozen=True, slots=True)
class VerifyResult:
    outcome: VerifyOutcome
    session: VerificationSession

    @property
    def ok(self) -> bool:
        return self.outcome is VerifyOutcome.VERIFIED


class OtpService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        limiter: Limiter,
        courier: Courier,
        keyring: Keyring,
        clock: Clock,
        policy: Policy,
        guard: GuardSettings | None = None,
        on_refusal: Refusal | None = None,
        limiter_down: Callable[[], bool] | None = None,
        on_fail_open: Callable[[], None] | None = None,
    ) -> None:
        """``limiter_down`` says whether the outside limiter is configured but unreachable
        right now; ``on_fail_open`` is told of each send the guard let through then."""
        self.uow = uow
        self.limiter = limiter
        self.courier = courier
        self.keyring = keyring
        self.clock = clock
        self.policy = policy
        self.limiter_down = limiter_down
        self.guard = Guard(
            guard or GuardSettings(), uow, on_refusal=on_refusal, on_fail_open=on_fail_open
        )

    def destination_key(self, tenant_id: str, destination: Destination) -> str:
        """The key of every limit, lockout and budget of ``destination``: a keyed hash of
        its canonical form, so ``Victim@…``, ``victim+x@…`` and ``vic.tim@gmail.com``
        count as one (the message still goes to the address as given)."""
        canonical = canonical_destination(destination)
        return f"{tenant_id}:{self.keyring.fingerprint(canonical)}"

    # -- sends ----------------------------------------------------------

    async def precount(self, destination_key: str, now: float) -> Precount:
        """Phase 1, before the unit of work: the send counted in Redis, if configured."""
        decision = await self.limiter.hit(
            f"send:{destination_key}", self.policy.send_limit_per_minute, 60, now
        )
        down = decision is None and self.limiter_down is not None and self.limiter_down()
        return Precount(send=decision, failed_open=down)

    async def open(
        self, uow: UnitOfWork, request: StartRequest, now: float, pre: Precount
    ) -> Dispatch:
        """Phase 2: a new session for ``request`` and its first delivery."""
        if not request.destination.fits(request.channel):
            raise InvalidInput(
                "channel", f"channel {request.channel} needs a different destination"
            )
        guarded = GuardedSend(
            tenant_id=request.tenant_id,
            environment=request.environment,
            destination=request.destination,
            destination_key=self.destination_key(request.tenant_id, request.destination),
            ip_address=request.ip_address,
        )
        await self._admit_send(uow, guarded, now, pre)
        session = VerificationSession(
            id=request.session_id or str(uuid.uuid4()),
            tenant_id=request.tenant_id,
            environment=request.environment,
            channel=request.channel,
            destination=request.destination,
            destination_key=guarded.destination_key,
            nonce=new_nonce(),
            key_id=self.keyring.current,
            code_length=self.policy.code_length,
            max_attempts=request.max_attempts or self.policy.max_attempts,
            created_at=now,
            expires_at=now + (request.ttl_seconds or self.policy.ttl_seconds),
            locale=request.locale,
        )
        await uow.sessions.create(session)
        await self._audit(uow, session, "session.started", now, {"channel": str(session.channel)})
        return await self._dispatch(
            uow,
            session,
            now,
            request.brand,
            request.default_locale,
            request.message_template,
        )

    async def redeliver(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        session_id: str,
        now: float,
        pre: Precount,
        brand: str | None = None,
    ) -> Dispatch:
        """Phase 2 of a resend: the *same* code again; neither TTL nor attempts change."""
        session = await self.get(uow, tenant_id, session_id)
        state = session.effective_state(now)
        if state is SessionState.EXPIRED:
            await self.expire(uow, session, now)
        if state is not SessionState.PENDING:
            raise Conflict(f"the verification is {state}; a code can no longer be resent")
        guarded = GuardedSend(
            tenant_id=tenant_id,
            environment=session.environment,
            destination=session.destination,
            destination_key=session.destination_key,
        )
        await self._admit_send(uow, guarded, now, pre)
        await self._audit(uow, session, "session.resent", now, None)
        return await self._dispatch(uow, session, now, brand, first=False)

    async def send(self, dispatch: Dispatch) -> DeliveryResult:
        """Phase 3, after COMMIT: a provider carries the message (network I/O)."""
        if dispatch.result is not None:
            return dispatch.result
        assert dispatch.message is not None
        return await self.courier.deliver(dispatch.message)

    async def record(
        self, uow: UnitOfWork, dispatch: Dispatch, result: DeliveryResult, now: float
    ) -> VerificationSession:
        """The delivery's outcome; a first delivery that failed leaves the session
        ``undelivered``. Returns the session as it now stands."""
        session = dispatch.session
        await uow.sessions.count_send(session.id)
        await uow.deliveries.record_delivery(session, result, now)
        if result.ok or not dispatch.first:
            return session
        if await uow.sessions.transition(
            session.id, SessionState.PENDING, SessionState.UNDELIVERED, now
        ):
            session = session.moved(SessionState.UNDELIVERED, now)
            await self._audit(uow, session, "session.undelivered", now, {"error": result.error})
        return session

    async def start(self, request: StartRequest) -> SendResult:
        """The three phases with units of work of its own (for flows with nothing else to
        write, and for tests)."""
        now = self.clock.now()
        pre = await self.precount(self.destination_key(request.tenant_id, request.destination), now)
        async with self.uow() as uow:
            dispatch = await self.open(uow, request, now, pre)
            if not dispatch.pending:
                assert dispatch.result is not None
                session = await self.record(uow, dispatch, dispatch.result, now)
                await uow.commit()
                return SendResult(session, dispatch.result)
            await uow.commit()
        result = await self.send(dispatch)
        async with self.uow() as uow:
            session = await self.record(uow, dispatch, result, self.clock.now())
            await uow.commit()
        return SendResult(session, result)

    # -- verify ---------------------------------------------------------

    async def precount_verify(self, subject: str, now: float) -> RateDecision | None:
        """Before the unit of work: the verification counted in Redis, if configured.
        ``subject`` names what is verified (an evaluation, a gateway token, an otp id)."""
        return await self.limiter.hit(
            f"verify:{subject}", self.policy.verify_limit_per_minute, 60, now
        )

    async def verify(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        session_id: str,
        code: str,
        now: float,
        *,
        subject: str,
        pre: RateDecision | None = None,
    ) -> VerifyResult:
        """Claim an attempt, then compare. A malformed code raises ``InvalidInput``: the
        caller's unit of work then rolls back, so it costs no attempt."""
        limit = pre or await uow.counters.hit(
            f"verify:{subject}", self.policy.verify_limit_per_minute, 60, now
        )
        if not limit.allowed:
            raise RateLimited("too many verification attempts; slow down", limit.retry_after)
        claimed = await uow.sessions.claim_attempt(session_id, now)
        if claimed is None or claimed.tenant_id != tenant_id:
            return await self._not_claimed(uow, tenant_id, session_id, code, now)
        if not is_well_formed(code, claimed.code_length):
            raise InvalidInput("code", f"the code must be {claimed.code_length} digits")
        if self._matches(claimed, code):
            if not await uow.sessions.transition(
                session_id, SessionState.PENDING, SessionState.VERIFIED, now
            ):
                return await self._not_claimed(uow, tenant_id, session_id, code, now)
            verified = claimed.moved(SessionState.VERIFIED, now)
            await self.guard.count_verified(uow, claimed, now)
            await self._audit(
                uow, verified, "session.verified", now, {"attempts": claimed.attempts}
            )
            return VerifyResult(VerifyOutcome.VERIFIED, verified)
        await self.guard.count_failure(uow, claimed, now)
        if claimed.attempts >= claimed.max_attempts:
            await uow.sessions.transition(
                session_id, SessionState.PENDING, SessionState.FAILED, now
            )
            failed = claimed.moved(SessionState.FAILED, now)
            await uow.counters.lock(
                f"lock:{claimed.destination_key}", now + self.policy.lockout_seconds
            )
            await self._audit(uow, failed, "session.failed", now, {"attempts": claimed.attempts})
            return VerifyResult(VerifyOutcome.MAX_ATTEMPTS, failed)
        await self._audit(
            uow, claimed, "session.attempt_failed", now, {"attempts": claimed.attempts}
        )
        return VerifyResult(VerifyOutcome.INVALID, claimed)

    async def cancel(
        self, uow: UnitOfWork, tenant_id: str, session_id: str, now: float
    ) -> VerificationSession:
        """Kill the code of a pending session (the evaluation API's ``resume``)."""
        session = await self.get(uow, tenant_id, session_id)
        if session.effective_state(now) is SessionState.EXPIRED:
            return await self.expire(uow, session, now)
        if await uow.sessions.transition(
            session.id, SessionState.PENDING, SessionState.CANCELLED, now
        ):
            await self._audit(uow, session, "session.cancelled", now, None)
            return session.moved(SessionState.CANCELLED, now)
        return await self.get(uow, tenant_id, session_id)

    async def get(self, uow: UnitOfWork, tenant_id: str, session_id: str) -> VerificationSession:
        session = await uow.sessions.get(tenant_id, session_id)
        if session is None:
            raise NotFound("no such verification")
        return session

    async def expire(
        self, uow: UnitOfWork, session: VerificationSession, now: float
    ) -> VerificationSession:
        """Record that a pending session ran past its TTL."""
        if await uow.sessions.transition(
            session.id, SessionState.PENDING, SessionState.EXPIRED, now
        ):
            await self._audit(uow, session, "session.expired", now, None)
            return session.moved(SessionState.EXPIRED, now)
        return await self.get(uow, session.tenant_id, session.id)

    # -- helpers --------------------------------------------------------

    def _matches(self, session: VerificationSession, code: str) -> bool:
        if session.environment is Environment.SANDBOX:
            return sandbox.code_accepted(code)
        return self.keyring.matches(session.key_id, session.id, session.nonce, code)

    async def _admit_send(
        self, uow: UnitOfWork, send: GuardedSend, now: float, pre: Precount
    ) -> None:
        """Every check a send passes before it is made: the guard's screen, the
        destination's lockout and per-minute limit, then the guard's counting signals."""
        screening = await self.guard.screen(uow, send, now)
        dest_key = send.destination_key
        until = await uow.counters.locked_until(f"lock:{dest_key}", now)
        if until is not None:
            raise DestinationLocked(
                "too many failed attempts for this destination; try again later",
                int(until - now + 0.999),
            )
        key, limit = f"send:{dest_key}", self.policy.send_limit_per_minute
        decision = pre.send or await uow.counters.hit(key, limit, 60, now)
        if pre.send is not None and decision.allowed:
            # Sends the database counted while Redis was away count too: an outage and an
            # empty Redis restart then let through at most twice the limit, not three times.
            earlier = await uow.counters.count(key, 60, now)
            if earlier:
                decision = replace(decision, allowed=decision.count + earlier <= limit)
        if not decision.allowed:
            raise RateLimited("too many codes sent to this destination", decision.retry_after)
        await self.guard.count_send(uow, send, now, screening)
        if pre.failed_open:
            self.guard.failed_open()

    async def _dispatch(
        self,
        uow: UnitOfWork,
        session: VerificationSession,
        now: float,
        brand: str | None,
        default_locale: str | None = None,
        message_template: str | None = None,
        *,
        first: bool = True,
    ) -> Dispatch:
        if session.environment is Environment.SANDBOX and sandbox.delivery_must_fail(
            session.destination
        ):
            failed = DeliveryResult(
                ok=False,
                provider=SANDBOX_PROVIDER,
                status_code=400,
                error="sandbox: this number always fails delivery",
            )
            return Dispatch(session, None, failed, first)
        message = OutgoingMessage(
            tenant_id=session.tenant_id,
            session_id=session.id,
            environment=session.environment,
            channel=session.channel,
            destination=session.destination,
            code=self.keyring.derive(
                session.key_id, session.id, session.nonce, session.code_length
            ),
            expires_at=session.expires_at,
            now=now,
            locale=session.locale,
            brand=brand,
            default_locale=default_locale,
            message_template=message_template,
        )
        entry = await self.courier.outbox_entry(message, uow.tenants)
        if entry is None:
            return Dispatch(session, message, None, first)
        message_id = await uow.outbox.add(entry)
        kept = DeliveryResult(
            ok=True, provider=SANDBOX_PROVIDER, status_code=200, provider_message_id=message_id
        )
        return Dispatch(session, message, kept, first)

    async def _not_claimed(
        self, uow: UnitOfWork, tenant_id: str, session_id: str, code: str, now: float
    ) -> VerifyResult:
        """No attempt could be claimed: say why, from the session as it now stands."""
        session = await self.get(uow, tenant_id, session_id)
        if not is_well_formed(code, session.code_length):
            raise InvalidInput("code", f"the code must be {session.code_length} digits")
        if session.effective_state(now) is SessionState.EXPIRED:
            return VerifyResult(VerifyOutcome.EXPIRED, await self.expire(uow, session, now))
        if session.state is SessionState.PENDING:
            until = await uow.counters.locked_until(f"lock:{session.destination_key}", now)
            if until is not None:  # the destination is locked: its open sessions wait too
                raise DestinationLocked(
                    "too many failed attempts for this destination; try again later",
                    int(until - now + 0.999),
                )
        # Closed before this request got to it (on PostgreSQL, maybe while it waited on the
        # row's lock): the answer it would get had it come alone, afterwards.
        return VerifyResult(VerifyOutcome.CLOSED, session)

    async def _audit(
        self,
        uow: UnitOfWork,
        session: VerificationSession,
        action: str,
        now: float,
        detail: dict[str, object] | None,
    ) -> None:
        await uow.audit.record(
            AuditEvent(
                tenant_id=session.tenant_id,
                subject_type="session",
                subject_id=session.id,
                action=action,
                at=now,
                detail=detail,
            )
        )
