"""Running an evaluation: the OTP wait state, verification, the PII step and the decision.

The evaluation API's rules live here (its package only translates wire format):

- POST starts one OTP session on the workflow's first channel that has a destination;
  a delivery failure closes the evaluation as Decline/REJECT.
- PATCH verifies a code, resends the same code, resumes (kills the code and lets the
  workflow go on without OTP), or supplies the personal details the workflow asks for.

Each request is one unit of work (``core/uow.py``): the PATCH's request id is claimed,
the change made, its audit events written and its answer stored in one transaction, so
a repeat of the id reads the stored answer and a crash leaves nothing half done. Only a
delivery through a real provider splits a request in two: the first transaction
commits the session, the provider is called, a second records the outcome.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field, replace
from typing import Protocol

from otpgate.core.clock import Clock
from otpgate.core.errors import Conflict, InvalidInput, NotFound
from otpgate.core.model import (
    AuditEvent,
    Channel,
    DeliveryResult,
    Destination,
    Environment,
    JsonObject,
    RateDecision,
)
from otpgate.core.service import Dispatch, OtpService, Precount, StartRequest, VerifyOutcome
from otpgate.core.session import SessionState, VerificationSession
from otpgate.core.uow import StoredAnswer
from otpgate.flows.evaluation import enrichments, review
from otpgate.flows.evaluation.definitions import (
    HOLD,
    PENDING_OTP_SUB_STATUS,
    Outcome,
    Workflow,
    with_aliases,
)
from otpgate.flows.evaluation.records import EvalStatus, Evaluation, EvaluationUnitOfWork
from otpgate.flows.evaluation.rules import Facts, decide, missing_fields
from otpgate.flows.evaluation.states import TRANSITIONS, EvaluationState

PENDING_OTP = Outcome(HOLD, PENDING_OTP_SUB_STATUS, "REVIEW")
DELIVERY_FAILED = Outcome("CLOSED", "Decline", "REJECT", ("OTP Delivery Failed",))
EXPIRED = Outcome("CLOSED", "Decline", "REJECT", ("OTP Expired",))
MAX_ATTEMPTS = Outcome("CLOSED", "Max attempts reached", "REJECT", ("OTP Max Attempts Reached",))
PII_SKIPPED = Outcome("CLOSED", "Under Review", "REVIEW", ("OTP Approved", "PII Not Provided"))
STALE_CLAIM_SECONDS = 120.0
"""A PATCH id reserved this long ago with no answer belonged to a request that died (its
delivery budget is far shorter): a repeat of the id takes it over."""


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
    individual: JsonObject = field(default_factory=dict)
    locale: str | None = None
    default_locale: str | None = None
    brand: str | None = None
    ip_address: str | None = None
    """The end user's address, when the caller gives it (``data.ip_address``)."""


@dataclass(frozen=True, slots=True)
class PatchAction:
    workflow: str | None = None
    code: str | None = None
    resend: bool = False
    resume: bool = False
    details: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EvaluationView:
    evaluation: Evaluation
    workflow: Workflow
    session: VerificationSession | None


@dataclass(frozen=True, slots=True)
class PatchResult:
    kind: PatchKind
    view: EvaluationView


class EvaluationUnitOfWorkFactory(Protocol):
    def __call__(self) -> EvaluationUnitOfWork: ...

    def reading(self) -> EvaluationUnitOfWork: ...


Answer = Callable[[PatchResult], StoredAnswer]
"""How the API renders a PATCH result; the rendering is what a repeated id gets back."""


class PatchConflict(Conflict):
    """A PATCH the evaluation cannot take as it stands; ``view`` is that state, and
    ``request_id`` the PATCH's own id (its answers echo it; ``None`` for a PUT)."""

    def __init__(
        self, message: str, view: EvaluationView | None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.view = view
        self.request_id = request_id


class EvaluationService:
    def __init__(
        self,
        *,
        otp: OtpService,
        uow: EvaluationUnitOfWorkFactory,
        workflows: Mapping[str, Workflow],
        clock: Clock,
        disposable_domains: Set[str],
    ) -> None:
        """``disposable_domains``: the lowercase email domains the ``disposable_email``
        rule matches (the wiring builds the list)."""
        self.otp = otp
        self.uow = uow
        self.workflows = workflows
        self.clock = clock
        self.disposable_domains = disposable_domains

    def aliased(self, aliases: Mapping[str, str]) -> EvaluationService:
        """This service, also answering to ``aliases`` ({your id: workflow name})."""
        return EvaluationService(
            otp=self.otp,
            uow=self.uow,
            workflows=with_aliases(self.workflows, aliases),
            clock=self.clock,
            disposable_domains=self.disposable_domains,
        )

    def workflow(self, name: str) -> Workflow:
        wf = self.workflows.get(name)
        if wf is None:
            raise InvalidInput("workflow", f"unknown workflow {name!r}")
        return wf

    # -- POST -----------------------------------------------------------

    async def start(self, req: StartEvaluation) -> EvaluationView:
        try:
            return await self._start(req)
        except _Raced:  # a concurrent POST with this id won: answer with its evaluation
            async with self.uow() as uow:
                existing = await uow.evaluations.get_by_client_id(req.tenant_id, req.client_id)
                if existing is None:
                    raise
                return await self._existing(uow, req, existing)

    async def _start(self, req: StartEvaluation) -> EvaluationView:
        wf = self.workflow(req.workflow)
        channel = self._pick_channel(wf, req)
        destination = req.phone if channel.needs_phone else req.email
        assert destination is not None
        now = self.clock.now()
        pre = await self.otp.precount(self.otp.destination_key(req.tenant_id, destination), now)
        async with self.uow() as uow:
            existing = await uow.evaluations.get_by_client_id(req.tenant_id, req.client_id)
            if existing is not None:
                return await self._existing(uow, req, existing)
            # The evaluation first: a concurrent POST with this id waits on its row and
            # then answers with it, before counting a send or opening a session.
            ev = self._new(req, wf, channel, str(uuid.uuid4()), now)
            if not await uow.evaluations.create(ev):
                raise _Raced()
            await self._audit(uow, ev, "created", now, {"workflow": ev.workflow})
            dispatch = await self.otp.open(
                uow,
                StartRequest(
                    tenant_id=req.tenant_id,
                    environment=req.environment,
                    channel=channel,
                    destination=destination,
                    locale=req.locale,
                    default_locale=req.default_locale,
                    brand=req.brand,
                    session_id=ev.session_id,
                    ip_address=req.ip_address,
                ),
                now,
                pre,
            )
            session = dispatch.session
            if not dispatch.pending:  # kept in the outbox: delivered in this transaction
                assert dispatch.result is not None
                session = await self.otp.record(uow, dispatch, dispatch.result, now)
                after = self._delivered(ev, session, dispatch.result, now)
                await uow.evaluations.add_enrichment(ev.id, after.enrichments[-1], now)
                ev = await self._save(uow, ev, after)
            await uow.commit()
        if not dispatch.pending:
            return EvaluationView(ev, wf, session)
        return await self._finish_delivery(ev, wf, dispatch)

    async def _existing(
        self, uow: EvaluationUnitOfWork, req: StartEvaluation, existing: Evaluation
    ) -> EvaluationView:
        """A POST repeating an id: the evaluation as it stands now; nothing is sent."""
        if existing.environment is not req.environment:
            raise Conflict(
                f"id {req.client_id!r} is already used by a "
                f"{existing.environment} evaluation of this tenant"
            )
        view = await self._current(uow, existing)
        await uow.commit()
        return view

    async def _finish_delivery(
        self, ev: Evaluation, wf: Workflow, dispatch: Dispatch
    ) -> EvaluationView:
        """After COMMIT: the provider carries the code; a second unit of work records it."""
        result = await self.otp.send(dispatch)
        async with self.uow() as uow:
            now = self.clock.now()
            session = await self.otp.record(uow, dispatch, result, now)
            current = await uow.evaluations.get(ev.tenant_id, ev.id) or ev
            after = self._delivered(current, session, result, now)
            await uow.evaluations.add_enrichment(ev.id, after.enrichments[-1], now)
            if (
                current.state is EvaluationState.AWAITING_CODE
                and current.eval_status == EvalStatus.IN_PROGRESS
            ):
                current = await self._save(uow, current, after)
            else:
                current = replace(current, enrichments=after.enrichments)
            await uow.commit()
        return EvaluationView(current, wf, session)

    def _new(
        self, req: StartEvaluation, wf: Workflow, channel: Channel, session_id: str, now: float
    ) -> Evaluation:
        individual = dict(req.individual)
        if req.phone is not None:
            individual["phone_number"] = req.phone.value
        if req.email is not None:
            individual["email"] = req.email.value
        return Evaluation(
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
            session_id=session_id,
            decision_at=now,  # the first decision: REVIEW while the code is pending
        )

    def _delivered(
        self, ev: Evaluation, session: VerificationSession, result: DeliveryResult, now: float
    ) -> Evaluation:
        """The evaluation once its code is delivered (or not), the enrichment saying so last."""
        body = enrichments.delivery(session, result)
        with_enrichment = replace(ev, enrichments=(*ev.enrichments, body))
        if result.ok:
            return replace(with_enrichment, eval_status=EvalStatus.PAUSED)
        return self._apply(with_enrichment, DELIVERY_FAILED, now)

    # -- GET ------------------------------------------------------------

    async def get(
        self, tenant_id: str, eval_id: str, environment: Environment | None = None
    ) -> EvaluationView:
        """The evaluation as it stands; with ``environment``, only one made with such a key."""
        async with self.uow.reading() as uow:
            found = await uow.evaluations.get_with_session(tenant_id, eval_id)
        read, session = found if found is not None else (None, None)
        ev = self._found(read, environment)
        now = self.clock.now()
        if (
            session is None
            or ev.state is not EvaluationState.AWAITING_CODE
            or session.effective_state(now) is not SessionState.EXPIRED
        ):
            return EvaluationView(ev, self.workflow(ev.workflow), session)
        async with self.uow() as uow:  # the code expired: close the evaluation for good
            ev = await self._load(uow, tenant_id, eval_id, environment)
            view = await self._current(uow, ev)
            await uow.commit()
        return view

    async def _current(self, uow: EvaluationUnitOfWork, ev: Evaluation) -> EvaluationView:
        """``ev`` as it stands; an evaluation whose code expired is closed on the way."""
        session = await self._session(uow, ev)
        now = self.clock.now()
        if (
            session is not None
            and ev.state is EvaluationState.AWAITING_CODE
            and session.effective_state(now) is SessionState.EXPIRED
        ):
            session = await self.otp.expire(uow, session, now)
            ev = await self._close(uow, ev, EXPIRED, session, "reject")
        return EvaluationView(ev, self.workflow(ev.workflow), session)

    # -- PATCH ----------------------------------------------------------

    async def patch(
        self,
        tenant_id: str,
        eval_id: str,
        request_id: str,
        action: PatchAction,
        answer: Answer,
        environment: Environment | None = None,
    ) -> StoredAnswer:
        """Apply ``action`` once per ``request_id``; a repeat gets the stored answer.

        Raises :class:`PatchConflict` (with the evaluation as it now stands) when the
        evaluation cannot take the action, and any other ``OtpError`` for bad input or
        limits; none of those is stored, so a corrected repeat of the id is applied."""
        now = self.clock.now()
        pre = (
            await self.otp.precount_verify(eval_id, now)
            if action.code is not None and not action.resume
            else None
        )
        scope = f"eval:{eval_id}"
        resend = action.resend and not action.resume and action.code is None
        pre_send = await self._precount_resend(tenant_id, eval_id, now) if resend else Precount()
        try:
            async with self.uow() as uow:
                claim = await uow.idempotency.claim(
                    tenant_id, scope, request_id, now, now - STALE_CLAIM_SECONDS
                )
                if not claim.won:
                    if claim.answer is not None:
                        return claim.answer
                    raise Conflict("a request with this id is still being processed")
                ev = await self._load(uow, tenant_id, eval_id, environment)
                self._same_workflow(ev, action.workflow)
                if resend and (expired := await self._expired(uow, ev, now)) is not None:
                    result = expired  # a resend after the TTL ends it, as a code would
                elif resend:
                    session_id = await self._pending_session_id(uow, ev, now)
                    dispatch = await self.otp.redeliver(
                        uow, ev.tenant_id, session_id, now, pre_send
                    )
                    if dispatch.pending:
                        await uow.commit()
                        return await self._finish_resend(ev, dispatch, scope, request_id, answer)
                    assert dispatch.result is not None
                    result = await self._resent(uow, ev, dispatch, dispatch.result, now)
                else:
                    result = await self._apply_patch(uow, ev, action, now, pre)
                stored = answer(result)
                await uow.idempotency.save(tenant_id, scope, request_id, stored)
                await uow.commit()
                return stored
        except Conflict as exc:
            view = await self._view_or_none(tenant_id, eval_id)
            raise PatchConflict(exc.message, view, request_id) from exc

    async def _view_or_none(self, tenant_id: str, eval_id: str) -> EvaluationView | None:
        try:
            return await self.get(tenant_id, eval_id)
        except NotFound:
            return None

    async def _apply_patch(
        self,
        uow: EvaluationUnitOfWork,
        ev: Evaluation,
        action: PatchAction,
        now: float,
        pre: RateDecision | None,
    ) -> PatchResult:
        if action.resume:
            return await self._resume(uow, ev, now)
        if action.code is not None:
            return await self._verify(uow, ev, action.code, now, pre)
        if action.details:
            return await self._details(uow, ev, action.details)
        raise InvalidInput(
            "data.individual.otp",
            "nothing to do: send otp.code, otp.resend, actions.resume or personal details",
        )

    async def _verify(
        self,
        uow: EvaluationUnitOfWork,
        ev: Evaluation,
        code: str,
        now: float,
        pre: RateDecision | None,
    ) -> PatchResult:
        session_id = await self._pending_session_id(uow, ev, now)
        result = await self.otp.verify(
            uow, ev.tenant_id, session_id, code, now, subject=ev.id, pre=pre
        )
        s = result.session
        wl = s.code_length
        if result.outcome is VerifyOutcome.VERIFIED:
            approved = enrichments.verification(s, "approved", wl)
            await uow.evaluations.add_enrichment(ev.id, approved, now)
            stored = replace(ev, enrichments=(*ev.enrichments, approved))
            return PatchResult(PatchKind.VERIFIED, await self._after_verified(uow, stored, s))
        if result.outcome is VerifyOutcome.INVALID:
            pending = enrichments.verification(s, "pending", wl)
            await uow.evaluations.add_enrichment(ev.id, pending, now)
            stored = replace(ev, enrichments=(*ev.enrichments, pending))
            return PatchResult(PatchKind.INVALID_CODE, self._view(stored, s))
        if result.outcome is VerifyOutcome.MAX_ATTEMPTS:
            closed = await self._close(uow, ev, MAX_ATTEMPTS, s, "reject")
            return PatchResult(PatchKind.MAX_ATTEMPTS, self._view(closed, s))
        if result.outcome is VerifyOutcome.EXPIRED:
            closed = await self._close(uow, ev, EXPIRED, s, "reject")
            return PatchResult(PatchKind.EXPIRED, self._view(closed, s))
        raise Conflict("the evaluation is closed")

    async def _expired(
        self, uow: EvaluationUnitOfWork, ev: Evaluation, now: float
    ) -> PatchResult | None:
        """The evaluation closed as expired, if it waits for a code whose TTL has passed."""
        session = (
            await self._session(uow, ev) if ev.state is EvaluationState.AWAITING_CODE else None
        )
        if session is None or session.effective_state(now) is not SessionState.EXPIRED:
            return None
        session = await self.otp.expire(uow, session, now)
        closed = await self._close(uow, ev, EXPIRED, session, "reject")
        return PatchResult(PatchKind.EXPIRED, self._view(closed, session))

    async def _precount_resend(self, tenant_id: str, eval_id: str, now: float) -> Precount:
        """A resend counts against its destination's send limit in Redis, before the unit of
        work opens; the destination comes from a read of the session."""
        async with self.uow.reading() as uow:
            ev = await uow.evaluations.get(tenant_id, eval_id)
            session = await self._session(uow, ev) if ev is not None else None
        if session is None:
            return Precount()
        return await self.otp.precount(session.destination_key, now)

    async def _resent(
        self,
        uow: EvaluationUnitOfWork,
        ev: Evaluation,
        dispatch: Dispatch,
        result: DeliveryResult,
        now: float,
    ) -> PatchResult:
        session = await self.otp.record(uow, dispatch, result, now)
        body = enrichments.delivery(session, result)
        await uow.evaluations.add_enrichment(ev.id, body, now)
        stored = replace(ev, enrichments=(*ev.enrichments, body))
        return PatchResult(PatchKind.RESENT, self._view(stored, session))

    async def _finish_resend(
        self, ev: Evaluation, dispatch: Dispatch, scope: str, request_id: str, answer: Answer
    ) -> StoredAnswer:
        result = await self.otp.send(dispatch)
        async with self.uow() as uow:
            now = self.clock.now()
            current = await self._load(uow, ev.tenant_id, ev.id)
            patched = await self._resent(uow, current, dispatch, result, now)
            stored = answer(patched)
            await uow.idempotency.save(ev.tenant_id, scope, request_id, stored)
            await uow.commit()
        return stored

    async def _resume(self, uow: EvaluationUnitOfWork, ev: Evaluation, now: float) -> PatchResult:
        wf = self.workflow(ev.workflow)
        if ev.state is EvaluationState.AWAITING_CODE and ev.session_id:
            session = await self.otp.cancel(uow, ev.tenant_id, ev.session_id, now)
            closed = await self._close(uow, ev, wf.on_resume)
            return PatchResult(PatchKind.RESUMED, self._view(closed, session))
        if ev.state is EvaluationState.AWAITING_DETAILS:
            closed = await self._close(uow, ev, PII_SKIPPED)
            return PatchResult(PatchKind.RESUMED, self._view(closed, await self._session(uow, ev)))
        raise Conflict("the evaluation is closed; start a new one")

    async def _details(
        self, uow: EvaluationUnitOfWork, ev: Evaluation, details: JsonObject
    ) -> PatchResult:
        if ev.state is not EvaluationState.AWAITING_DETAILS:
            raise Conflict("the evaluation is not waiting for personal details")
        merged = dict(ev.individual)
        for key, value in details.items():
            held = merged.get(key)
            if key == "address" and isinstance(value, dict) and isinstance(held, dict):
                merged[key] = {**held, **value}
            else:
                merged[key] = value
        session = await self._session(uow, ev)
        updated = await self._decide_or_wait(uow, replace(ev, individual=merged), session)
        return PatchResult(PatchKind.DETAILS, self._view(updated, session))

    # -- PUT state (manual review, review.py) -----------------------------

    async def set_state(
        self,
        tenant_id: str,
        eval_id: str,
        change: review.StateChange,
        environment: Environment | None = None,
    ) -> EvaluationView:
        """A reviewer's decision and status, audited with the change in one unit of work.

        Raises :class:`PatchConflict` while the evaluation waits for a code."""
        try:
            async with self.uow() as uow:
                ev = await self._load(uow, tenant_id, eval_id, environment)
                self._same_workflow(ev, change.workflow)
                if ev.state is EvaluationState.AWAITING_CODE:
                    raise Conflict(
                        "the evaluation is waiting for a code: verify, resend or resume it first"
                    )
                now = self.clock.now()
                after = review.reviewed(ev, self.workflow(ev.workflow), change, now)
                TRANSITIONS.move(ev.state, after.state)
                if not await uow.evaluations.update(after, ev.version):
                    raise Conflict("the evaluation changed while this request ran; fetch it again")
                detail: dict[str, object] = {"before": _state(ev), **_state(after)}
                if after.notes != ev.notes:  # their text stays with the evaluation (sealed)
                    detail["notes_changed"] = True
                await self._audit(uow, after, "state_set", now, detail)
                session = await self._session(uow, ev)
                await uow.commit()
        except Conflict as exc:
            raise PatchConflict(exc.message, await self._view_or_none(tenant_id, eval_id)) from exc
        return self._view(replace(after, version=ev.version + 1), session)

    # -- helpers --------------------------------------------------------

    async def _after_verified(
        self, uow: EvaluationUnitOfWork, ev: Evaluation, session: VerificationSession
    ) -> EvaluationView:
        wf = self.workflow(ev.workflow)
        if wf.pii is None:
            return self._view(await self._close(uow, ev, wf.on_verified), session)
        return self._view(await self._decide_or_wait(uow, ev, session), session)

    async def _decide_or_wait(
        self, uow: EvaluationUnitOfWork, ev: Evaluation, session: VerificationSession | None
    ) -> Evaluation:
        wf = self.workflow(ev.workflow)
        now = self.clock.now()
        missing = missing_fields(wf, ev.individual)
        if missing and wf.pii is not None:
            waiting = self._apply(ev, wf.pii.on_missing, now)
            return await self._save(uow, ev, replace(waiting, eval_status=EvalStatus.PAUSED))
        facts = Facts(
            individual=ev.individual,
            email=_text(ev.individual.get("email")),
            phone_line_type=session.destination.line_type if session else None,
            today=dt.datetime.fromtimestamp(now, dt.UTC).date(),
            disposable_domains=self.disposable_domains,
        )
        return await self._save(uow, ev, self._apply(ev, decide(wf, facts), now))

    def _same_workflow(self, ev: Evaluation, name: str | None) -> None:
        """A PATCH (or PUT) naming a workflow names the evaluation's: by its name or by an
        alias of the same definition."""
        if name is None or name == ev.workflow:
            return
        named, own = self.workflows.get(name), self.workflows.get(ev.workflow)
        if named is None or own is None or (named.id, named.version) != (own.id, own.version):
            raise InvalidInput(
                "workflow", f"workflow {name!r} is not this evaluation's ({ev.workflow!r})"
            )

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

    async def _pending_session_id(
        self, uow: EvaluationUnitOfWork, ev: Evaluation, now: float
    ) -> str:
        if ev.state is not EvaluationState.AWAITING_CODE or ev.session_id is None:
            raise Conflict("the evaluation is not waiting for a code")
        return ev.session_id

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
            decision_at=now,  # every outcome applied is the current decision, held or not
        )

    async def _close(
        self,
        uow: EvaluationUnitOfWork,
        ev: Evaluation,
        outcome: Outcome,
        session: VerificationSession | None = None,
        verify_status: str | None = None,
    ) -> Evaluation:
        now = self.clock.now()
        after = self._apply(ev, outcome, now)
        if session is not None and verify_status is not None:
            body = enrichments.verification(session, verify_status, session.code_length)
            await uow.evaluations.add_enrichment(ev.id, body, now)
            after = replace(after, enrichments=(*after.enrichments, body))
        return await self._save(uow, ev, after)

    async def _save(
        self, uow: EvaluationUnitOfWork, before: Evaluation, after: Evaluation
    ) -> Evaluation:
        """Write ``after`` over ``before`` (a versioned update) with its audit event. The
        unit of work holds the evaluation's row from its first write on, so a lost update
        means a concurrent request changed it between this request's read and write."""
        TRANSITIONS.move(before.state, after.state)
        if not await uow.evaluations.update(after, before.version):
            raise Conflict("the evaluation changed while this request ran; fetch it again")
        await self._audit(uow, after, "state_changed", after.ended_at, _state(after))
        return replace(after, version=before.version + 1)

    async def _load(
        self,
        uow: EvaluationUnitOfWork,
        tenant_id: str,
        eval_id: str,
        environment: Environment | None = None,
    ) -> Evaluation:
        return self._found(await uow.evaluations.get(tenant_id, eval_id), environment)

    @staticmethod
    def _found(ev: Evaluation | None, environment: Environment | None) -> Evaluation:
        if ev is None or (environment is not None and ev.environment is not environment):
            raise NotFound("no evaluation with that eval_id")
        return ev

    async def _session(
        self, uow: EvaluationUnitOfWork, ev: Evaluation
    ) -> VerificationSession | None:
        if ev.session_id is None:
            return None
        return await uow.sessions.get(ev.tenant_id, ev.session_id)

    def _view(self, ev: Evaluation, session: VerificationSession | None) -> EvaluationView:
        return EvaluationView(evaluation=ev, workflow=self.workflow(ev.workflow), session=session)

    async def _audit(
        self,
        uow: EvaluationUnitOfWork,
        ev: Evaluation,
        action: str,
        at: float,
        detail: dict[str, object],
    ) -> None:
        if action == "created":
            detail = {**detail, "environment": str(ev.environment), **_state(ev)}
        await uow.audit.record(
            AuditEvent(
                tenant_id=ev.tenant_id,
                subject_type="evaluation",
                subject_id=ev.id,
                action=action,
                at=at,
                detail=detail,
            )
        )


class _Raced(Conflict):
    def __init__(self) -> None:
        super().__init__("the evaluation id is being used by another request")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _state(ev: Evaluation) -> dict[str, object]:
    return {
        "status": ev.status,
        "sub_status": ev.sub_status,
        "decision": ev.decision,
        "eval_status": ev.eval_status,
        "tags": list(ev.tags),
    }
