"""The PhoneMatch gateway's use-cases on the core: ``begin``, ``check`` and ``status``.

``begin`` parses and screens the destination (``rules.screen``), starts one core
session with the caller's message, and on delivery issues an opaque continuation
token. ``check`` verifies a code through the core (same TTL, attempt limit, lockout
and sandbox rules as every front-end) and, once the transaction is over, issues a
final token that ``status`` accepts. Tokens are 32 lowercase letters and digits
(165 bits); only their SHA-256 hashes are stored.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import string
import uuid
from dataclasses import dataclass

from otpgate.core.clock import Clock
from otpgate.core.codes import is_well_formed
from otpgate.core.errors import InvalidInput, NotFound
from otpgate.core.model import Channel, Destination, Environment
from otpgate.core.service import OtpService, StartRequest, VerifyOutcome
from otpgate.core.session import SessionState
from otpgate.destinations import parse_email, parse_phone
from otpgate.gateway import rules
from otpgate.gateway.records import (
    FinalOutcome,
    Transaction,
    TransactionState,
    TransactionStore,
)

TOKEN_ALPHABET = string.ascii_lowercase + string.digits
TOKEN_LENGTH = 32
UNUSABLE = "the token is unknown, expired or has already been used"
ALREADY_CLOSED = "the transaction is already closed"
EXPIRED_ISSUE = "the code has expired: the transaction is closed"
MAX_ATTEMPTS_ISSUE = "too many wrong codes: the transaction is closed"


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
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_confirmation() -> int:
    return 10_000_000 + secrets.randbelow(90_000_000)


def _well_formed_token(token: str) -> bool:
    return len(token) == TOKEN_LENGTH and all(c in TOKEN_ALPHABET for c in token)


class GatewayService:
    def __init__(self, *, otp: OtpService, store: TransactionStore, clock: Clock) -> None:
        self.otp = otp
        self.store = store
        self.clock = clock

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
        sent = await self.otp.start(
            StartRequest(
                tenant_id=req.tenant_id,
                environment=req.environment,
                channel=req.channel,
                destination=destination,
                brand=req.brand,
                default_locale=req.default_locale,
                message_template=message,
            )
        )
        now = self.clock.now()
        if not sent.delivered:
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
            session_id=sent.session.id,
            service=req.service,
            reference=req.reference,
            user=req.user,
            company=req.company,
            created_at=now,
        )
        await self.store.create(transaction, hash_token(token))
        return BeginResult(SendOutcome.SENT, new_confirmation(), now, token=token)

    def _destination(self, req: BeginRequest) -> Destination:
        if req.channel is Channel.EMAIL:
            if req.email is None:
                raise InvalidInput("target.email", "target.email is required")
            return parse_email(req.email, "target.email")
        if req.phone is None:
            raise InvalidInput("target.phone", "target.phone is required")
        return parse_phone(
            req.phone,
            "target.phone",
            default_region="US",
            allow_magic=req.environment is Environment.SANDBOX,
        )

    # -- validation request ---------------------------------------------

    async def check(self, token: str, key: str, tenant_id: str | None = None) -> CheckResult:
        transaction = await self._pending(token, tenant_id)
        session = await self.otp.get(transaction.tenant_id, transaction.session_id)
        now = self.clock.now()
        if not is_well_formed(key, session.code_length):
            # A malformed key can never match: answer the mismatch without spending an attempt.
            state = session.effective_state(now)
            if state is SessionState.EXPIRED:
                return await self._finish(transaction, FinalOutcome.EXPIRED, now, (EXPIRED_ISSUE,))
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
        verified = await self.otp.verify(transaction.tenant_id, transaction.session_id, key)
        now = self.clock.now()
        remaining = verified.session.attempts_remaining
        match verified.outcome:
            case VerifyOutcome.VERIFIED:
                return await self._finish(transaction, FinalOutcome.MATCHED, now, ())
            case VerifyOutcome.MAX_ATTEMPTS:
                return await self._finish(
                    transaction, FinalOutcome.MAX_ATTEMPTS, now, (MAX_ATTEMPTS_ISSUE,)
                )
            case VerifyOutcome.EXPIRED:
                return await self._finish(transaction, FinalOutcome.EXPIRED, now, (EXPIRED_ISSUE,))
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

    async def _finish(
        self,
        transaction: Transaction,
        outcome: FinalOutcome,
        now: float,
        issues: tuple[str, ...],
    ) -> CheckResult:
        final_token = new_token()
        confirmation = new_confirmation()
        won = await self.store.finish(
            transaction.id, outcome, hash_token(final_token), confirmation, now
        )
        if not won:
            return CheckResult(
                CheckOutcome.CLOSED, transaction, confirmation, now, (ALREADY_CLOSED,)
            )
        check = {
            FinalOutcome.MATCHED: CheckOutcome.MATCHED,
            FinalOutcome.MAX_ATTEMPTS: CheckOutcome.MAX_ATTEMPTS,
            FinalOutcome.EXPIRED: CheckOutcome.EXPIRED,
        }[outcome]
        return CheckResult(check, transaction, confirmation, now, issues, final_token=final_token)

    async def _pending(self, token: str, tenant_id: str | None) -> Transaction:
        found = await self.store.by_token(hash_token(token)) if _well_formed_token(token) else None
        if (
            found is None
            or found.state is not TransactionState.PENDING
            or (tenant_id is not None and found.tenant_id != tenant_id)
        ):
            raise NotFound(UNUSABLE)
        return found

    # -- status ---------------------------------------------------------

    async def status(self, final_token: str, tenant_id: str | None = None) -> Transaction:
        found = (
            await self.store.by_final_token(hash_token(final_token))
            if _well_formed_token(final_token)
            else None
        )
        if found is None or (tenant_id is not None and found.tenant_id != tenant_id):
            raise NotFound("the final token is unknown")
        return found
