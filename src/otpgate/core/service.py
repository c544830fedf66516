"""The verification use-cases: ``start``, ``resend``, ``verify`` and ``cancel``.

Attempt counting follows one rule: raise the counter *before* comparing the
code, in one atomic store statement, and consume a session with a conditional
transition. No interleaving of requests can then evaluate more than
``max_attempts`` guesses or see the success transition twice.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace

from otpgate.core import sandbox
from otpgate.core.clock import Clock
from otpgate.core.codes import Keyring, is_well_formed, new_nonce
from otpgate.core.errors import Conflict, DestinationLocked, InvalidInput, NotFound, RateLimited
from otpgate.core.model import (
    AuditEvent,
    Channel,
    DeliveryResult,
    Destination,
    Environment,
    OutgoingMessage,
    Policy,
)
from otpgate.core.ports import AuditLog, Courier, DeliveryLog, Limiter, SessionStore
from otpgate.core.session import SessionState, VerificationSession

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
        store: SessionStore,
        limiter: Limiter,
        courier: Courier,
        keyring: Keyring,
        clock: Clock,
        policy: Policy,
        audit: AuditLog,
        deliveries: DeliveryLog,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.courier = courier
        self.keyring = keyring
        self.clock = clock
        self.policy = policy
        self.audit = audit
        self.deliveries = deliveries

    # -- start / resend -------------------------------------------------

    async def start(self, request: StartRequest) -> SendResult:
        if not request.destination.fits(request.channel):
            raise InvalidInput(
                "channel", f"channel {request.channel} needs a different destination"
            )
        now = self.clock.now()
        dest_key = f"{request.tenant_id}:{self.keyring.fingerprint(request.destination.value)}"
        await self._check_lockout(dest_key, now)
        await self._count_send(dest_key, now)
        session = VerificationSession(
            id=str(uuid.uuid4()),
            tenant_id=request.tenant_id,
            environment=request.environment,
            channel=request.channel,
            destination=request.destination,
            destination_key=dest_key,
            nonce=new_nonce(),
            key_id=self.keyring.current,
            code_length=self.policy.code_length,
            max_attempts=request.max_attempts or self.policy.max_attempts,
            created_at=now,
            expires_at=now + (request.ttl_seconds or self.policy.ttl_seconds),
            locale=request.locale,
        )
        await self.store.create_session(session)
        await self._audit(session, "session.started", now, {"channel": str(session.channel)})
        delivery = await self._deliver(
            session, now, request.brand, request.default_locale, request.message_template
        )
        if not delivery.ok:
            await self.store.transition(
                session.id, SessionState.PENDING, SessionState.UNDELIVERED, now
            )
            session = session.moved(SessionState.UNDELIVERED, now)
            await self._audit(session, "session.undelivered", now, {"error": delivery.error})
        return SendResult(session=session, delivery=delivery)

    async def resend(self, tenant_id: str, session_id: str, brand: str | None = None) -> SendResult:
        session = await self.get(tenant_id, session_id)
        now = self.clock.now()
        state = session.effective_state(now)
        if state is SessionState.EXPIRED:
            await self._expire(session, now)
        if state is not SessionState.PENDING:
            raise Conflict(f"the verification is {state}; a code can no longer be resent")
        await self._check_lockout(session.destination_key, now)
        await self._count_send(session.destination_key, now)
        delivery = await self._deliver(session, now, brand)
        await self._audit(session, "session.resent", now, {"delivered": delivery.ok})
        return SendResult(session=await self.get(tenant_id, session_id), delivery=delivery)

    # -- verify ---------------------------------------------------------

    async def verify(self, tenant_id: str, session_id: str, code: str) -> VerifyResult:
        session = await self.get(tenant_id, session_id)
        if not is_well_formed(code, session.code_length):
            raise InvalidInput("code", f"the code must be {session.code_length} digits")
        now = self.clock.now()
        limit = await self.limiter.hit(
            f"verify:{session.id}", self.policy.verify_limit_per_minute, 60, now
        )
        if not limit.allowed:
            raise RateLimited("too many verification attempts; slow down", limit.retry_after)
        state = session.effective_state(now)
        if state is SessionState.EXPIRED:
            return VerifyResult(VerifyOutcome.EXPIRED, await self._expire(session, now))
        if state is not SessionState.PENDING:
            return VerifyResult(VerifyOutcome.CLOSED, session)

        attempts = await self.store.claim_attempt(session.id, now)
        if attempts is None:
            return await self._closed_meanwhile(tenant_id, session_id, now)
        if self._matches(session, code):
            won = await self.store.transition(
                session.id, SessionState.PENDING, SessionState.VERIFIED, now
            )
            if not won:
                return await self._closed_meanwhile(tenant_id, session_id, now)
            # The claim and the transition both succeeded, so the stored row is exactly this.
            verified = replace(session, attempts=attempts).moved(SessionState.VERIFIED, now)
            await self._audit(verified, "session.verified", now, {"attempts": attempts})
            return VerifyResult(VerifyOutcome.VERIFIED, verified)

        if attempts >= session.max_attempts:
            await self.store.transition(session.id, SessionState.PENDING, SessionState.FAILED, now)
            await self.limiter.lock(
                f"lock:{session.destination_key}", now + self.policy.lockout_seconds
            )
            failed = await self.get(tenant_id, session_id)
            await self._audit(failed, "session.failed", now, {"attempts": attempts})
            return VerifyResult(VerifyOutcome.MAX_ATTEMPTS, failed)
        # The atomic claim returned the new count of this still-pending session.
        current = replace(session, attempts=attempts)
        await self._audit(current, "session.attempt_failed", now, {"attempts": attempts})
        return VerifyResult(VerifyOutcome.INVALID, current)

    async def cancel(self, tenant_id: str, session_id: str) -> VerificationSession:
        """Kill the code of a pending session (the evaluation API's ``resume``)."""
        session = await self.get(tenant_id, session_id)
        now = self.clock.now()
        if session.effective_state(now) is SessionState.EXPIRED:
            return await self._expire(session, now)
        if await self.store.transition(
            session.id, SessionState.PENDING, SessionState.CANCELLED, now
        ):
            await self._audit(session, "session.cancelled", now, None)
        return await self.get(tenant_id, session_id)

    async def get(self, tenant_id: str, session_id: str) -> VerificationSession:
        session = await self.store.get_session(tenant_id, session_id)
        if session is None:
            raise NotFound("no such verification")
        return session

    def lockout_key(self, tenant_id: str, destination: Destination) -> str:
        return f"{tenant_id}:{self.keyring.fingerprint(destination.value)}"

    # -- helpers --------------------------------------------------------

    def _matches(self, session: VerificationSession, code: str) -> bool:
        if session.environment is Environment.SANDBOX:
            return sandbox.code_accepted(code)
        return self.keyring.matches(session.key_id, session.id, session.nonce, code)

    async def _check_lockout(self, dest_key: str, now: float) -> None:
        until = await self.limiter.locked_until(f"lock:{dest_key}", now)
        if until is not None:
            raise DestinationLocked(
                "too many failed attempts for this destination; try again later",
                int(until - now + 0.999),
            )

    async def _count_send(self, dest_key: str, now: float) -> None:
        decision = await self.limiter.hit(
            f"send:{dest_key}", self.policy.send_limit_per_minute, 60, now
        )
        if not decision.allowed:
            raise RateLimited("too many codes sent to this destination", decision.retry_after)

    async def _deliver(
        self,
        session: VerificationSession,
        now: float,
        brand: str | None,
        default_locale: str | None = None,
        message_template: str | None = None,
    ) -> DeliveryResult:
        if session.environment is Environment.SANDBOX and sandbox.delivery_must_fail(
            session.destination
        ):
            result = DeliveryResult(
                ok=False,
                provider=SANDBOX_PROVIDER,
                status_code=400,
                error="sandbox: this number always fails delivery",
            )
        else:
            code = self.keyring.derive(
                session.key_id, session.id, session.nonce, session.code_length
            )
            result = await self.courier.deliver(
                OutgoingMessage(
                    tenant_id=session.tenant_id,
                    session_id=session.id,
                    environment=session.environment,
                    channel=session.channel,
                    destination=session.destination,
                    code=code,
                    expires_at=session.expires_at,
                    now=now,
                    locale=session.locale,
                    brand=brand,
                    default_locale=default_locale,
                    message_template=message_template,
                )
            )
        await self.store.count_send(session.id)
        await self.deliveries.record_delivery(session, result, now)
        return result

    async def _expire(self, session: VerificationSession, now: float) -> VerificationSession:
        if await self.store.transition(session.id, SessionState.PENDING, SessionState.EXPIRED, now):
            await self._audit(session, "session.expired", now, None)
        return await self.get(session.tenant_id, session.id)

    async def _closed_meanwhile(self, tenant_id: str, session_id: str, now: float) -> VerifyResult:
        """The session left ``pending`` between our read and our write."""
        session = await self.get(tenant_id, session_id)
        if session.effective_state(now) is SessionState.EXPIRED:
            return VerifyResult(VerifyOutcome.EXPIRED, await self._expire(session, now))
        if session.state is SessionState.FAILED:
            return VerifyResult(VerifyOutcome.MAX_ATTEMPTS, session)
        # Still pending with every attempt used: a concurrent request holds the last one and
        # has not compared it yet. Its code may be right, so this is not "max attempts".
        return VerifyResult(VerifyOutcome.CLOSED, session)

    async def _audit(
        self,
        session: VerificationSession,
        action: str,
        now: float,
        detail: dict[str, object] | None,
    ) -> None:
        await self.audit.record(
            AuditEvent(
                tenant_id=session.tenant_id,
                subject_type="session",
                subject_id=session.id,
                action=action,
                at=now,
                detail=detail,
            )
        )
