"""Running an evaluation: the OTP wait state, verification, the PII step and the decision.

The evaluation API's rules live here (its package only translates wire format):

- POST starts one OTP session on the workflow's first channel that has a destination;
  a delivery failure closes the evaluation as Decline/REJECT.
- PATCH verifies a code, resends the same code, resumes (kills the code and lets the
  workflow go on without OTP), or supplies the personal details the workflow asks for.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from otpgate.core.clock import Clock
from otpgate.core.errors import Conflict, InvalidInput, NotFound, OtpError
from otpgate.core.model import Channel, Destination, Environment
from otpgate.core.service import OtpService, StartRequest, VerifyOutcome
from otpgate.core.session import SessionState, VerificationSession
from otpgate.workflows import enrichments
from otpgate.workflows.definitions import Outcome, Workflow
from otpgate.workflows.records import EvalStatus, Evaluation, EvaluationStore
from otpgate.workflows.rules import Facts, decide, missing_fields

PENDING_OTP = Outcome("ON_HOLD", "Pending OTP Code", "REVIEW")
DELIVERY_FAILED = Outcome("CLOSED", "Decline", "REJECT", ("OTP Delivery Failed",))
EXPIRED = Outcome("CLOSED", "Decline", "REJECT", ("OTP Expired",))
MAX_ATTEMPTS = Outcome("CLOSED", "Max attempts reached", "REJECT", ("OTP Max Attempts Reached",))
PII_SKIPPED = Outcome("CLOSED", "Under Review", "REVIEW", ("OTP Approved", "PII Not Provided"))
MORE_INFO = "More information needed"


class PatchKind(enum.StrEnum):
    VERIFIED = "verified"
    INVALID_CODE = "invalid_code"
    MAX_ATTEMPTS = "max_attempts"
    EXPIRED = "expired"
    RESENT = "resent"
    RESUMED = "resumed"
    DETAILS = "details"


@dataclass(frozen=True, slots=True)
class StartEvaluation:
    tenant_id: str
    environment: Environment
    client_id: str
    workflow: str
    phone: Destination | None = None
    email: Destination | None = None
    channel: Channel | None = None
    individual: dict[str, Any] = field(default_factory=dict)
    locale: str | None = None
    default_locale: str | None = None
    brand: str | None = None


@dataclass(frozen=True, slots=True)
class PatchAction:
    code: str | None = None
    resend: bool = False
    resume: bool = False
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EvaluationView:
    evaluation: Evaluation
    workflow: Workflow
    session: VerificationSession | None


@dataclass(frozen=True, slots=True)
class PatchResult:
    kind: PatchKind
    view: EvaluationView


class EvaluationService:
    def __init__(
        self,
        *,
        otp: OtpService,
        store: EvaluationStore,
        workflows: Mapping[str, Workflow],
        clock: Clock,
    ) -> None:
        self.otp = otp
        self.store = store
        self.workflows = workflows
        self.clock = clock

    def workflow(self, name: str) -> Workflow:
        wf = self.workflows.get(name)
        if wf is None:
            raise InvalidInput("workflow", f"unknown workflow {name!r}")
        return wf

    # -- POST -----------------------------------------------------------

    async def start(self, req: StartEvaluation) -> EvaluationView:
        wf = self.workflow(req.workflow)
        existing = await self.store.get_by_client_id(req.tenant_id, req.client_id)
        if existing is not None:
            if existing.environment is not req.environment:
                raise Conflict(
                    f"id {req.client_id!r} is already used by a "
                    f"{existing.environment} evaluation of this tenant"
                )
            return await self.get(req.tenant_id, existing.id)  # as it stands now, as GET
        channel = self._pick_channel(wf, req)
        destination = req.phone if channel.needs_phone else req.email
        assert destination is not None
        now = self.clock.now()
        individual = dict(req.individual)
        if req.phone is not None:
            individual["phone_number"] = req.phone.value
        if req.email is not None:
            individual["email"] = req.email.value
        ev = Evaluation(
            id=str(uuid.uuid4()),
            tenant_id=req.tenant_id,
            client_id=req.client_id,
            workflow=wf.name,
            environment=req.environment,
            status=PENDING_OTP.status,
            sub_status=PENDING_OTP.sub_status,
            decision=PENDING_OTP.decision,
            eval_status=EvalStatus.IN_PROGRESS,
            started_at=now,
            ended_at=now,
            channel=channel,
            individual=individual,
        )
        if not await self.store.create(ev):
            again = await self.store.get_by_client_id(req.tenant_id, req.client_id)
            if again is None:
                raise Conflict("the evaluation id is being used by another request")
            return await self._view(again)
        try:
            sent = await self.otp.start(
                StartRequest(
                    tenant_id=req.tenant_id,
                    environment=req.environment,
                    channel=channel,
                    destination=destination,
                    locale=req.locale,
                    default_locale=req.default_locale,
                    brand=req.brand,
                )
            )
        except BaseException:
            await self.store.delete(ev.id)
            raise
        delivered = enrichments.delivery(sent.session, sent.delivery)
        await self.store.add_enrichment(ev.id, delivered, now)
        if sent.delivered:
            updated = replace(ev, session_id=sent.session.id, eval_status=EvalStatus.PAUSED)
        else:
            updated = self._apply(replace(ev, session_id=sent.session.id), DELIVERY_FAILED, now)
        if not await self.store.update(updated, ev.version):
            return await self._view(updated)
        # Nothing else has touched the row since this request created it: no re-read.
        stored = replace(updated, version=ev.version + 1, enrichments=(delivered,))
        return await self._view(stored, sent.session, fresh=True)

    # -- GET ------------------------------------------------------------

    async def get(
        self, tenant_id: str, eval_id: str, environment: Environment | None = None
    ) -> EvaluationView:
        """The evaluation as it stands; with ``environment``, only one made with such a key."""
        ev = await self._load(tenant_id, eval_id, environment)
        if self._awaiting_code(ev) and ev.session_id:
            session = await self.otp.get(tenant_id, ev.session_id)
            if session.effective_state(self.clock.now()) is SessionState.EXPIRED:
                session = await self.otp.cancel(tenant_id, session.id)
                ev = await self._close(ev, EXPIRED, session, "reject")
                return await self._view(ev, session)
            return await self._view(ev, session, fresh=True)
        return await self._view(ev, fresh=True)

    # -- PATCH ----------------------------------------------------------

    async def patch(
        self,
        tenant_id: str,
        eval_id: str,
        action: PatchAction,
        environment: Environment | None = None,
    ) -> PatchResult:
        ev = await self._load(tenant_id, eval_id, environment)
        if action.resume:
            return await self._resume(ev)
        if action.code is not None:
            return await self._verify(ev, action.code)
        if action.resend:
            return await self._resend(ev)
        if action.details:
            return await self._details(ev, action.details)
        raise InvalidInput(
            "data.individual.otp",
            "nothing to do: send otp.code, otp.resend, actions.resume or personal details",
        )

    async def _verify(self, ev: Evaluation, code: str) -> PatchResult:
        result = await self.otp.verify(ev.tenant_id, self._pending_session_id(ev), code)
        s = result.session
        wl = s.code_length
        if result.outcome is VerifyOutcome.VERIFIED:
            approved = enrichments.verification(s, "approved", wl)
            await self.store.add_enrichment(ev.id, approved, self.clock.now())
            stored = replace(ev, enrichments=(*ev.enrichments, approved))
            return PatchResult(PatchKind.VERIFIED, await self._after_verified(stored, s))
        if result.outcome is VerifyOutcome.INVALID:
            pending = enrichments.verification(s, "pending", wl)
            await self.store.add_enrichment(ev.id, pending, self.clock.now())
            # A wrong code leaves the evaluation's row as this request read it; the answer is
            # that row plus the enrichment just added, without reading both back.
            stored = replace(ev, enrichments=(*ev.enrichments, pending))
            return PatchResult(PatchKind.INVALID_CODE, await self._view(stored, s, fresh=True))
        if result.outcome is VerifyOutcome.MAX_ATTEMPTS:
            closed = await self._close(ev, MAX_ATTEMPTS, s, "reject")
            return PatchResult(PatchKind.MAX_ATTEMPTS, await self._view(closed))
        if result.outcome is VerifyOutcome.EXPIRED:
            closed = await self._close(ev, EXPIRED, s, "reject")
            return PatchResult(PatchKind.EXPIRED, await self._view(closed))
        raise Conflict("the evaluation is closed")

    async def _resend(self, ev: Evaluation) -> PatchResult:
        try:
            sent = await self.otp.resend(ev.tenant_id, self._pending_session_id(ev))
        except Conflict:
            fresh = await self.get(ev.tenant_id, ev.id)
            if fresh.evaluation.sub_status == EXPIRED.sub_status and fresh.evaluation.is_closed:
                return PatchResult(PatchKind.EXPIRED, fresh)
            raise
        now = self.clock.now()
        await self.store.add_enrichment(
            ev.id, enrichments.delivery(sent.session, sent.delivery), now
        )
        return PatchResult(PatchKind.RESENT, await self._view(await self._reload(ev)))

    async def _resume(self, ev: Evaluation) -> PatchResult:
        wf = self.workflow(ev.workflow)
        if self._awaiting_code(ev) and ev.session_id:
            await self.otp.cancel(ev.tenant_id, ev.session_id)
            return PatchResult(
                PatchKind.RESUMED, await self._view(await self._close(ev, wf.on_resume))
            )
        if self._awaiting_details(ev):
            closed = await self._close(ev, PII_SKIPPED)
            return PatchResult(PatchKind.RESUMED, await self._view(closed))
        raise Conflict("the evaluation is closed; start a new one")

    async def _details(self, ev: Evaluation, details: dict[str, Any]) -> PatchResult:
        if not self._awaiting_details(ev):
            raise Conflict("the evaluation is not waiting for personal details")
        merged = dict(ev.individual)
        for key, value in details.items():
            if (
                key == "address"
                and isinstance(value, Mapping)
                and isinstance(merged.get(key), dict)
            ):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        updated = await self._decide_or_wait(replace(ev, individual=merged))
        return PatchResult(PatchKind.DETAILS, await self._view(updated))

    # -- helpers --------------------------------------------------------

    async def _after_verified(self, ev: Evaluation, session: VerificationSession) -> EvaluationView:
        """``ev``: the row as read, with the enrichments this request added. Both branches
        return the row as written (or, after a lost update, as read again): fresh."""
        wf = self.workflow(ev.workflow)
        if wf.pii is None:
            return await self._view(await self._close(ev, wf.on_verified), session, fresh=True)
        return await self._view(await self._decide_or_wait(ev), session, fresh=True)

    async def _decide_or_wait(self, ev: Evaluation) -> Evaluation:
        wf = self.workflow(ev.workflow)
        now = self.clock.now()
        missing = missing_fields(wf, ev.individual)
        if missing and wf.pii is not None:
            waiting = self._apply(ev, wf.pii.on_missing, now)
            return await self._save(ev, replace(waiting, eval_status=EvalStatus.PAUSED))
        facts = Facts(
            individual=ev.individual,
            email=ev.individual.get("email"),
            phone_line_type=await self._line_type(ev),
            today=dt.datetime.fromtimestamp(now, dt.UTC).date(),
        )
        return await self._save(ev, self._apply(ev, decide(wf, facts), now))

    async def _line_type(self, ev: Evaluation) -> str | None:
        if ev.session_id is None:
            return None
        session = await self.otp.get(ev.tenant_id, ev.session_id)
        return session.destination.line_type

    def _pick_channel(self, wf: Workflow, req: StartEvaluation) -> Channel:
        if req.channel is not None:
            needed = req.phone if req.channel.needs_phone else req.email
            if needed is None:
                field_name = "phone_number" if req.channel.needs_phone else "email"
                raise InvalidInput(
                    f"data.individual.{field_name}",
                    f"channel {req.channel} needs data.individual.{field_name}",
                )
            return req.channel
        for channel in wf.channels:
            if (req.phone if channel.needs_phone else req.email) is not None:
                return channel
        raise InvalidInput(
            "data.individual.phone_number",
            "give data.individual.phone_number or data.individual.email",
        )

    def _pending_session_id(self, ev: Evaluation) -> str:
        """The session to act on; the OTP service reads it (``NotFound`` if it is gone)."""
        if not self._awaiting_code(ev) or ev.session_id is None:
            raise Conflict("the evaluation is not waiting for a code")
        return ev.session_id

    @staticmethod
    def _awaiting_code(ev: Evaluation) -> bool:
        return ev.status == "ON_HOLD" and ev.sub_status == PENDING_OTP.sub_status

    @staticmethod
    def _awaiting_details(ev: Evaluation) -> bool:
        return ev.status == "ON_HOLD" and ev.sub_status == MORE_INFO

    @staticmethod
    def _apply(ev: Evaluation, outcome: Outcome, now: float) -> Evaluation:
        closed = outcome.status == "CLOSED"
        return replace(
            ev,
            status=outcome.status,
            sub_status=outcome.sub_status,
            decision=outcome.decision,
            tags=outcome.tags,
            review_queues=("Default Queue",) if closed and outcome.decision == "REVIEW" else (),
            eval_status=EvalStatus.COMPLETED if closed else EvalStatus.PAUSED,
            ended_at=now,
            decision_at=now if closed else ev.decision_at,
        )

    async def _close(
        self,
        ev: Evaluation,
        outcome: Outcome,
        session: VerificationSession | None = None,
        verify_status: str | None = None,
    ) -> Evaluation:
        now = self.clock.now()
        after = self._apply(ev, outcome, now)
        if not await self.store.update(after, ev.version):
            # A concurrent request closed it first and recorded its own enrichment.
            return await self._settled(ev, after)
        if session is not None and verify_status is not None:
            await self.store.add_enrichment(
                ev.id, enrichments.verification(session, verify_status, session.code_length), now
            )
        return replace(after, version=ev.version + 1)

    async def _save(self, before: Evaluation, after: Evaluation) -> Evaluation:
        if await self.store.update(after, before.version):
            return replace(after, version=before.version + 1)
        return await self._settled(before, after)

    async def _settled(self, before: Evaluation, after: Evaluation) -> Evaluation:
        """The evaluation after a lost update: fine if it ended where ``after`` was going."""
        current = await self._reload(before)
        if current.is_closed or current.sub_status == after.sub_status:
            return current
        raise Conflict("the evaluation changed while this request ran; fetch it again")

    async def _load(
        self, tenant_id: str, eval_id: str, environment: Environment | None = None
    ) -> Evaluation:
        ev = await self.store.get(tenant_id, eval_id)
        if ev is None or (environment is not None and ev.environment is not environment):
            raise NotFound("no evaluation with that eval_id")
        return ev

    async def _reload(self, ev: Evaluation) -> Evaluation:
        return await self._load(ev.tenant_id, ev.id)

    async def _view(
        self, ev: Evaluation, session: VerificationSession | None = None, *, fresh: bool = False
    ) -> EvaluationView:
        """The answer's view. ``fresh``: ``ev`` is the stored row with its enrichments, as
        just read or written, so it is not read again; ``session``: the evaluation's
        session as this request last saw it, so it is not read again either."""
        if not fresh:
            ev = await self.store.get(ev.tenant_id, ev.id) or ev
        if session is None or session.id != ev.session_id:
            session = None
            if ev.session_id is not None:
                try:
                    session = await self.otp.get(ev.tenant_id, ev.session_id)
                except OtpError:
                    session = None
        return EvaluationView(evaluation=ev, workflow=self.workflow(ev.workflow), session=session)
