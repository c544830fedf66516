"""The PhoneMatch gateway's use-cases on the core: ``begin``, ``check`` and ``status``.

``begin`` parses and screens the destination (``rules.screen``), starts one core
session with the caller's message, and on delivery issues an opaque continuation
token. ``check`` verifies a code through the core (same TTL, attempt limit, lockout
and sandbox rules as every front-end) and, once the transaction is over, issues a
final token that ``status`` accepts. Tokens are 32 lowercase letters and digits
(165 bits); only their SHA-256 hashes are stored.

Each request runs in units of work (``core/uow.py``); the gateway's audit events
(``gateway_transaction``: ``created``, ``finished``) are written in the same one as the
change they record. Redis is counted before a unit of work opens, providers are called
after it commits:

- ``begin`` in the sandbox (the outbox, or the failing number): one unit of work opens
  the session, keeps the message, records the delivery and, if delivered, creates the
  transaction. With a real provider: the first opens the session; after COMMIT the
  provider carries the code; a second records the outcome and, only if the code was
  delivered, creates the transaction. A crash in between leaves a pending session
  without a transaction, whose token nobody was given: nothing to clean up, and the
  caller, who got no answer, starts again.
- ``check``: one unit of work locks the pending transaction, claims an attempt,
  compares, and finishes the transaction. A key that cannot be a code (wrong length,
  not digits) spends no attempt: it is answered from a read of the session (and, if
  the code has expired, the transaction is finished).
- ``status``: one read-only unit of work.
"""

from __future__ import annotations

import enum
import secrets
import string
import uuid
from dataclasses import dataclass

from otpgate.core import sandbox
from otpgate.core.clock import Clock
from otpgate.core.codes import is_well_formed
from otpgate.core.errors import InvalidInput, NotFound
from otpgate.core.model import (
    AuditEvent,
    Channel,
    DeliveryResult,
    Destination,
    Environment,
    RateDecision,
    Scope,
)
from otpgate.core.opaque import digest, random_token
from otpgate.core.ports import DestinationParsers
from otpgate.core.service import Dispatch, OtpService, StartRequest, VerifyOutcome
from otpgate.core.session import SessionState
from otpgate.flows.phonematch import rules
from otpgate.flows.phonematch.records import (
    TRANSITIONS,
    FinalOutcome,
    GatewayUnitOfWork,
    GatewayUnitOfWorkFactory,
    Transaction,
)

TOKEN_ALPHABET = string.ascii_lowercase + string.digits
TOKEN_LENGTH = 32
UNUSABLE = "the token is unknown, expired or has already been used"
ALREADY_CLOSED = "the transaction is already closed"
EXPIRED_ISSUE = "the code has expired: the transaction is closed"
MAX_ATTEMPTS_ISSUE = "too many wrong codes: the transaction is closed"
SUBJECT_TYPE = "gateway_transaction"


class SendOutcome(enum.StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"
    DATA_CHECK_FAILED = "data_check_failed"
    UNDELIVERED = "undelivered"


class CheckOutcome(enum.StrEnum):
    MATCHED = "matched"
    MISMATCHED = "mismatched"
    MAX_ATTEMPTS = "max_attempts"
    EXPIRED = "expired"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class BeginRequest:
    tenant_id: str
    environment: Environment
    channel: Channel
    service: str
    user: str
    company: str
    reference: str | None
    options: rules.OutOfBandOptions
    phone: object = None
    email: object = None
    fn: str | None = None
    ln: str | None = None
    brand: str | None = None
    default_locale: str | None = None
    ip_address: str | None = None


@dataclass(frozen=True, slots=True)
class BeginResult:
    outcome: SendOutcome
    confirmation: int
    at: float
    issues: tuple[str, ...] = ()
    token: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    outcome: CheckOutcome
    transaction: Transaction
    confirmation: int
    at: float
    issues: tuple[str, ...] = ()
    final_token: str | None = None
    attempts_remaining: int = 0

    @property
    def open(self) -> bool:
        """The continuation token still takes another code."""
        return self.outcome is CheckOutcome.MISMATCHED and self.attempts_remaining > 0


def new_token() -> str:
    return random_token(TOKEN_LENGTH, TOKEN_ALPHABET)


def hash_token(token: str) -> str:
    return digest(token)


def new_confirmation() -> int:
    return 10_000_000 + secrets.randbelow(90_000_000)


def _well_formed_token(token: str) -> bool:
    return len(token) == TOKEN_LENGTH and all(c in TOKEN_ALPHABET for c in token)


class _Malformed(Exception):
    """The key cannot be a code of this session: leave the unit of work, spending nothing."""


_FINAL_CHECKS = {
    FinalOutcome.MATCHED: CheckOutcome.MATCHED,
    FinalOutcome.MAX_ATTEMPTS: CheckOutcome.MAX_ATTEMPTS,
    FinalOutcome.EXPIRED: CheckOutcome.EXPIRED,
}


class GatewayService:
    def __init__(
        self,
        *,
        otp: OtpService,
        uow: GatewayUnitOfWorkFactory,
        clock: Clock,
        destinations: DestinationParsers,
    ) -> None:
        """``destinations`` parses the target's phone or email (``begin``)."""
        self.otp = otp
        self.uow = uow
        self.clock = clock
        self.destinations = destinations

    # -- initial request ------------------------------------------------

    async def begin(self, req: BeginRequest) -> BeginResult:
        message = (
            rules.personalise(req.options.message, req.fn, req.ln)
            if req.options.message is not None
            else None
        )
        now = self.clock.now()
        try:
            destination = self._destination(req)
        except InvalidInput as exc:
            return BeginResult(
                SendOutcome.DATA_CHECK_FAILED, new_confirmation(), now, (exc.message,)
            )
        if req.channel.needs_phone:
            screened = rules.screen(destination, req.options)
            if not screened.allowed:
                outcome = (
                    SendOutcome.SUPPRESSED
                    if screened.outcome is rules.Screening.SUPPRESSED
                    else SendOutcome.DATA_CHECK_FAILED
                )
                issues = (screened.reason,) if screened.reason else ()
                return BeginResult(outcome, new_confirmation(), now, issues)
        start = StartRequest(
            tenant_id=req.tenant_id,
            environment=req.environment,
            channel=req.channel,
            destination=destination,
            brand=req.brand,
            default_locale=req.default_locale,
            ip_address=req.ip_address,
            message_template=message,
        )
        pre = await self.otp.precount(self.otp.destination_key(req.tenant_id, destination), now)
        async with self.uow() as uow:
            dispatch = await self.otp.open(uow, start, now, pre)
            if not dispatch.pending:  # the outbox kept it, or the sandbox refused it
                assert dispatch.result is not None
                result = await self._delivered(uow, req, dispatch, dispatch.result, now)
                await uow.commit()
                return result
            await uow.commit()
        delivery = await self.otp.send(dispatch)
        now = self.clock.now()
        async with self.uow() as uow:
            result = await self._delivered(uow, req, dispatch, delivery, now)
            await uow.commit()
        return result

    async def _delivered(
        self,
        uow: GatewayUnitOfWork,
        req: BeginRequest,
        dispatch: Dispatch,
        delivery: DeliveryResult,
        now: float,
    ) -> BeginResult:
        """Record the delivery; only a delivered code opens a transaction and its token."""
        session = await self.otp.record(uow, dispatch, delivery, now)
        if not delivery.ok:
            return BeginResult(
                SendOutcome.UNDELIVERED,
                new_confirmation(),
                now,
                ("the code could not be delivered",),
            )
        token = new_token()
        transaction = Transaction(
            id=str(uuid.uuid4()),
            tenant_id=req.tenant_id,
            environment=req.environment,
            session_id=session.id,
            service=req.service,
            reference=req.reference,
            user=req.user,
            company=req.company,
            created_at=now,
        )
        await uow.gateway.create(transaction, hash_token(token))
        await self._audit(
            uow,
            transaction,
            "created",
            now,
            {"service": transaction.service, "session_id": transaction.session_id},
        )
        return BeginResult(SendOutcome.SENT, new_confirmation(), now, token=token)

    def _destination(self, req: BeginRequest) -> Destination:
        if req.channel is Channel.EMAIL:
            if req.email is None:
                raise InvalidInput("target.email", "target.email is required")
            return self.destinations.email(req.email, "target.email")
        if req.phone is None:
            raise InvalidInput("target.phone", "target.phone is required")
        return self.destinations.phone(
            req.phone,
            "target.phone",
            default_region="US",
            allow_magic=sandbox.takes_magic_numbers(req.environment),
        )

    # -- validation request ---------------------------------------------

    async def check(self, token: str, key: str, scope: Scope | None = None) -> CheckResult:
        """Check ``key`` against the transaction of ``token``; with ``scope`` (the caller
        sent credentials) only a transaction of that tenant and environment is found."""
        if not _well_formed_token(token):
            raise NotFound(UNUSABLE)
        token_hash = hash_token(token)
        subject = f"gateway:{token_hash}"
        now = self.clock.now()
        if is_well_formed(key, self.otp.policy.code_length):
            pre = await self.otp.precount_verify(subject, now)
            try:
                async with self.uow() as uow:
                    transaction = await self._pending(uow, token_hash, scope)
                    result = await self._verify(uow, transaction, key, now, subject, pre)
                    await uow.commit()
                return result
            except _Malformed:
                pass  # this session's codes have another length; the claim rolled back
        async with self.uow() as uow:
            transaction = await self._pending(uow, token_hash, scope)
            result = await self._malformed(uow, transaction, key, now, subject)
            await uow.commit()
        return result

    async def _verify(
        self,
        uow: GatewayUnitOfWork,
        transaction: Transaction,
        key: str,
        now: float,
        subject: str,
        pre: RateDecision | None,
    ) -> CheckResult:
        try:
            verified = await self.otp.verify(
                uow,
                transaction.tenant_id,
                transaction.session_id,
                key,
                now,
                subject=subject,
                pre=pre,
            )
        except InvalidInput as exc:
            raise _Malformed from exc
        remaining = verified.session.attempts_remaining
        match verified.outcome:
            case VerifyOutcome.VERIFIED:
                return await self._finish(uow, transaction, FinalOutcome.MATCHED, now, ())
            case VerifyOutcome.MAX_ATTEMPTS:
                return await self._finish(
                    uow, transaction, FinalOutcome.MAX_ATTEMPTS, now, (MAX_ATTEMPTS_ISSUE,)
                )
            case VerifyOutcome.EXPIRED:
                return await self._finish(
                    uow, transaction, FinalOutcome.EXPIRED, now, (EXPIRED_ISSUE,)
                )
            case VerifyOutcome.INVALID:
                plural = "attempt remains" if remaining == 1 else "attempts remain"
                return CheckResult(
                    CheckOutcome.MISMATCHED,
                    transaction,
                    new_confirmation(),
                    now,
                    (f"the code did not match; {remaining} {plural}",),
                    attempts_remaining=remaining,
                )
        return CheckResult(
            CheckOutcome.CLOSED, transaction, new_confirmation(), now, (ALREADY_CLOSED,)
        )

    async def _malformed(
        self,
        uow: GatewayUnitOfWork,
        transaction: Transaction,
        key: str,
        now: float,
        subject: str,
    ) -> CheckResult:
        """A key that can never match: the mismatch, without spending an attempt."""
        session = await self.otp.get(uow, transaction.tenant_id, transaction.session_id)
        if is_well_formed(key, session.code_length):  # a session older than the policy
            return await self._verify(uow, transaction, key, now, subject, None)
        state = session.effective_state(now)
        if state is SessionState.EXPIRED:
            return await self._finish(uow, transaction, FinalOutcome.EXPIRED, now, (EXPIRED_ISSUE,))
        if state is not SessionState.PENDING:
            return CheckResult(
                CheckOutcome.CLOSED, transaction, new_confirmation(), now, (ALREADY_CLOSED,)
            )
        return CheckResult(
            CheckOutcome.MISMATCHED,
            transaction,
            new_confirmation(),
            now,
            (f"codematch.key must be {session.code_length} digits",),
            attempts_remaining=session.attempts_remaining,
        )

    async def _finish(
        self,
        uow: GatewayUnitOfWork,
        transaction: Transaction,
        outcome: FinalOutcome,
        now: float,
        issues: tuple[str, ...],
    ) -> CheckResult:
        TRANSITIONS.move(transaction.state, outcome.state)
        final_token = new_token()
        confirmation = new_confirmation()
        won = await uow.gateway.finish(
            transaction.id, outcome, hash_token(final_token), confirmation, now
        )
        if not won:
            return CheckResult(
                CheckOutcome.CLOSED, transaction, confirmation, now, (ALREADY_CLOSED,)
            )
        detail: dict[str, object] = {"outcome": str(outcome), "state": str(outcome.state)}
        await self._audit(uow, transaction, "finished", now, detail)
        return CheckResult(
            _FINAL_CHECKS[outcome], transaction, confirmation, now, issues, final_token=final_token
        )

    async def _pending(
        self, uow: GatewayUnitOfWork, token_hash: str, scope: Scope | None
    ) -> Transaction:
        found = await uow.gateway.lock_pending(token_hash, scope)
        if found is None:
            raise NotFound(UNUSABLE)
        return found

    # -- status ---------------------------------------------------------

    async def status(self, final_token: str, scope: Scope | None = None) -> Transaction:
        found = None
        if _well_formed_token(final_token):
            async with self.uow.reading() as uow:
                found = await uow.gateway.by_final_token(hash_token(final_token), scope)
        if found is None:
            raise NotFound("the final token is unknown")
        return found

    # -- helpers --------------------------------------------------------

    async def _audit(
        self,
        uow: GatewayUnitOfWork,
        transaction: Transaction,
        action: str,
        now: float,
        detail: dict[str, object],
    ) -> None:
        await uow.audit.record(
            AuditEvent(
                tenant_id=transaction.tenant_id,
                subject_type=SUBJECT_TYPE,
                subject_id=transaction.id,
                action=action,
                at=now,
                detail=detail,
            )
        )
