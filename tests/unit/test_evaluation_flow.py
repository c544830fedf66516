"""The evaluation flow on the in-memory unit of work (``otpgate.testing.flows``): no I/O.

POST (start), PATCH (code, resend, resume, personal details, each once per request id),
GET and PUT state, as ``EvaluationService`` runs them; the units of work each opens are
counted and the audit trail is read from the committed tables only.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from otpgate.core.errors import Conflict, DestinationLocked, InvalidInput, NotFound
from otpgate.core.memory import RecordingCourier
from otpgate.core.model import Channel, Environment, JsonObject
from otpgate.core.session import SessionState, VerificationSession
from otpgate.core.uow import StoredAnswer
from otpgate.destinations import parse_email, parse_phone
from otpgate.flows.evaluation.records import EvalStatus, Evaluation
from otpgate.flows.evaluation.review import StateChange
from otpgate.flows.evaluation.service import (
    STALE_CLAIM_SECONDS,
    EvaluationView,
    PatchAction,
    PatchConflict,
    PatchKind,
    PatchResult,
    StartEvaluation,
)
from otpgate.flows.evaluation.states import EvaluationState
from otpgate.testing.flows import FlowRig
from tests.integration.evalkit import PII

TENANT = "t1"
PHONE = "+14155550100"
FAILING = "+11234567890"  # the sandbox's number whose delivery always fails
OTP = "otp_verification"
ONBOARDING = "individual_onboarding"


class Evaluations(FlowRig):
    """The shared rig, driving the evaluation flow as its API does."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.service = self.evaluations
        self.answered: list[PatchResult] = []
        self.requests = 0

    async def start(
        self,
        workflow: str = OTP,
        *,
        environment: Environment = Environment.PRODUCTION,
        client_id: str = "c-1",
        phone: str | None = PHONE,
        email: str | None = None,
        individual: JsonObject | None = None,
    ) -> EvaluationView:
        return await self.service.start(
            StartEvaluation(
                tenant_id=TENANT,
                environment=environment,
                client_id=client_id,
                workflow=workflow,
                phone=parse_phone(phone) if phone else None,
                email=parse_email(email) if email else None,
                individual=dict(individual or {}),
            )
        )

    def answer(self, result: PatchResult) -> StoredAnswer:
        """What the API would store: enough of the result to tell answers apart."""
        self.answered.append(result)
        ev = result.view.evaluation
        return StoredAnswer(200, {"kind": str(result.kind), "sub_status": ev.sub_status})

    async def patch(
        self, ev: Evaluation, action: PatchAction, request_id: str | None = None
    ) -> StoredAnswer:
        self.requests += 1
        return await self.service.patch(
            TENANT, ev.id, request_id or f"r-{self.requests}", action, self.answer
        )

    async def code(self, ev: Evaluation, code: str, request_id: str | None = None) -> PatchResult:
        await self.patch(ev, PatchAction(code=code), request_id)
        return self.answered[-1]

    async def current(self, ev: Evaluation) -> Evaluation:
        return (await self.service.get(TENANT, ev.id)).evaluation

    def session(self, ev: Evaluation) -> VerificationSession:
        assert ev.session_id is not None
        return self.db.sessions[ev.session_id]

    def last_code(self) -> str:
        return self.courier.last_code()

    def wrong(self) -> str:
        code = self.last_code()
        return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))

    def actions(self) -> list[str]:
        return [e.action for e in self.events("evaluation")]


def triple(ev: Evaluation) -> tuple[str, str, str]:
    return ev.status, ev.sub_status, ev.decision


@pytest.fixture
def rig() -> Evaluations:
    return Evaluations()


# -- POST -------------------------------------------------------------------


async def test_start_sends_a_code_and_waits_for_it(rig: Evaluations) -> None:
    view = await rig.start()
    ev = view.evaluation
    assert ev.state is EvaluationState.AWAITING_CODE
    assert triple(ev) == ("ON_HOLD", "Pending OTP Code", "REVIEW")
    assert ev.eval_status is EvalStatus.PAUSED  # delivered: the workflow waits
    assert rig.uow.opened == 2  # open the session | after the provider: record it
    assert view.session is not None and view.session.state is SessionState.PENDING
    assert ev.channel is Channel.SMS and ev.individual["phone_number"] == PHONE
    [delivery] = (await rig.current(ev)).enrichments
    assert delivery["enrichment_name"] == "Deliver OTP SMS" and delivery["status_code"] == 200
    assert rig.actions() == ["created", "state_changed"]
    assert len(rig.courier.messages) == 1


async def test_a_repeated_post_answers_with_the_evaluation_and_sends_nothing(
    rig: Evaluations,
) -> None:
    first = (await rig.start()).evaluation
    again = (await rig.start()).evaluation
    assert again.id == first.id and len(rig.courier.messages) == 1
    with pytest.raises(Conflict, match="sandbox evaluation|production evaluation"):
        await rig.start(environment=Environment.SANDBOX)


async def test_start_needs_a_destination_and_a_known_workflow(rig: Evaluations) -> None:
    with pytest.raises(InvalidInput) as missing:
        await rig.start(phone=None)
    assert missing.value.field == "data.individual.phone_number"
    with pytest.raises(InvalidInput) as unknown:
        await rig.start("nope")
    assert unknown.value.field == "workflow"
    assert rig.db.tables.get("evaluations", {}) == {}


async def test_a_failed_delivery_declines_the_evaluation() -> None:
    rig = Evaluations(courier=RecordingCourier(fail=True))
    ev = (await rig.start()).evaluation
    assert ev.state is EvaluationState.CLOSED
    assert triple(ev) == ("CLOSED", "Decline", "REJECT") and ev.tags == ("OTP Delivery Failed",)
    assert ev.eval_status is EvalStatus.COMPLETED
    assert rig.session(ev).state is SessionState.UNDELIVERED


# -- PATCH: codes -----------------------------------------------------------


async def test_the_right_code_approves(rig: Evaluations) -> None:
    ev = (await rig.start()).evaluation
    result = await rig.code(ev, rig.last_code())
    done = result.view.evaluation
    assert result.kind is PatchKind.VERIFIED and done.state is EvaluationState.CLOSED
    assert triple(done) == ("CLOSED", "Approve", "ACCEPT") and done.tags == ("OTP_VERIFIED",)
    assert done.eval_status is EvalStatus.COMPLETED
    assert rig.session(ev).state is SessionState.VERIFIED
    names = [e["enrichment_name"] for e in (await rig.current(ev)).enrichments]
    assert names == ["Deliver OTP SMS", "Verify OTP SMS"]
    with pytest.raises(PatchConflict) as closed:
        await rig.code(ev, rig.last_code())
    assert closed.value.view is not None and closed.value.view.evaluation.is_closed


async def test_a_wrong_code_keeps_waiting_and_the_last_one_closes_and_locks(
    rig: Evaluations,
) -> None:
    ev = (await rig.start()).evaluation
    wrong = await rig.code(ev, rig.wrong())
    assert wrong.kind is PatchKind.INVALID_CODE
    assert wrong.view.evaluation.state is EvaluationState.AWAITING_CODE
    assert rig.session(ev).attempts == 1
    kinds = [(await rig.code(ev, rig.wrong())).kind for _ in range(4)]
    assert kinds == [PatchKind.INVALID_CODE] * 3 + [PatchKind.MAX_ATTEMPTS]
    closed = await rig.current(ev)
    assert triple(closed) == ("CLOSED", "Max attempts reached", "REJECT")
    assert closed.tags == ("OTP Max Attempts Reached",)
    assert rig.session(ev).state is SessionState.FAILED
    with pytest.raises(DestinationLocked):  # the number is locked for a new evaluation too
        await rig.start(client_id="c-2")
    rig.clock.advance(601)
    assert (await rig.start(client_id="c-3")).evaluation.state is EvaluationState.AWAITING_CODE


async def test_a_code_after_the_ttl_expires_the_evaluation(rig: Evaluations) -> None:
    ev = (await rig.start()).evaluation
    rig.clock.advance(601)
    result = await rig.code(ev, rig.last_code())
    assert result.kind is PatchKind.EXPIRED
    assert triple(result.view.evaluation) == ("CLOSED", "Decline", "REJECT")
    assert rig.session(ev).state is SessionState.EXPIRED


async def test_get_after_the_ttl_closes_the_evaluation_once(rig: Evaluations) -> None:
    ev = (await rig.start()).evaluation
    rig.clock.advance(600)
    got = await rig.current(ev)
    assert got.state is EvaluationState.CLOSED and got.tags == ("OTP Expired",)
    assert rig.actions().count("state_changed") == 2  # delivered, then expired: once
    assert (await rig.current(ev)).version == got.version


# -- PATCH: resend, resume --------------------------------------------------


async def test_a_resend_sends_the_same_code_again(rig: Evaluations) -> None:
    ev = (await rig.start()).evaluation
    code = rig.last_code()
    await rig.patch(ev, PatchAction(resend=True))
    assert rig.answered[-1].kind is PatchKind.RESENT
    assert [m.code for m in rig.courier.messages] == [code, code]
    assert rig.session(ev).sends == 2
    assert (await rig.code(ev, code)).kind is PatchKind.VERIFIED


async def test_a_resend_after_the_ttl_expires_the_evaluation(rig: Evaluations) -> None:
    ev = (await rig.start()).evaluation
    rig.clock.advance(601)
    await rig.patch(ev, PatchAction(resend=True))
    assert rig.answered[-1].kind is PatchKind.EXPIRED and len(rig.courier.messages) == 1


async def test_resume_kills_the_code_and_goes_on_without_it(rig: Evaluations) -> None:
    ev = (await rig.start()).evaluation
    await rig.patch(ev, PatchAction(resume=True))
    result = rig.answered[-1]
    assert result.kind is PatchKind.RESUMED
    assert triple(result.view.evaluation) == ("CLOSED", "Under Review", "REVIEW")
    assert result.view.evaluation.review_queues == ("Default Queue",)
    assert rig.session(ev).state is SessionState.CANCELLED
    with pytest.raises(PatchConflict, match="closed"):
        await rig.patch(ev, PatchAction(resume=True))
    with pytest.raises(PatchConflict, match="not waiting for a code"):
        await rig.patch(ev, PatchAction(resend=True))


async def test_a_patch_with_nothing_to_do_is_invalid(rig: Evaluations) -> None:
    ev = (await rig.start()).evaluation
    with pytest.raises(InvalidInput):
        await rig.patch(ev, PatchAction())
    with pytest.raises(NotFound):
        await rig.service.patch(TENANT, "no-such-id", "r", PatchAction(code="1"), rig.answer)


# -- PATCH: personal details (individual_onboarding) ------------------------


async def test_onboarding_asks_for_details_then_decides(rig: Evaluations) -> None:
    ev = (await rig.start(ONBOARDING)).evaluation
    held = (await rig.code(ev, rig.last_code())).view.evaluation
    assert held.state is EvaluationState.AWAITING_DETAILS
    assert triple(held) == ("ON_HOLD", "More information needed", "REVIEW")
    assert held.eval_status is EvalStatus.PAUSED
    with pytest.raises(PatchConflict, match="not waiting for a code"):
        await rig.code(ev, rig.last_code())

    first = {k: v for k, v in PII.items() if k != "address"}
    await rig.patch(ev, PatchAction(details=first))
    assert rig.answered[-1].view.evaluation.state is EvaluationState.AWAITING_DETAILS
    await rig.patch(ev, PatchAction(details={"address": PII["address"]}))
    done = rig.answered[-1].view.evaluation
    assert rig.answered[-1].kind is PatchKind.DETAILS
    assert triple(done) == ("CLOSED", "Approve", "ACCEPT")
    assert done.tags == ("OTP Approved", "PII Verified")
    with pytest.raises(PatchConflict, match="not waiting for personal details"):
        await rig.patch(ev, PatchAction(details=first))


async def test_the_rules_decide_on_the_details(rig: Evaluations) -> None:
    young = copy.deepcopy(PII)
    young["date_of_birth"] = "2020-01-01"
    ev = (await rig.start(ONBOARDING, email="jane@mailinator.com", individual=young)).evaluation
    done = (await rig.code(ev, rig.last_code())).view.evaluation
    assert triple(done) == ("CLOSED", "Decline", "REJECT")
    assert set(done.tags) >= {"Disposable Email Domain", "Applicant Under Minimum Age"}


async def test_resume_while_waiting_for_details_skips_them(rig: Evaluations) -> None:
    ev = (await rig.start(ONBOARDING)).evaluation
    await rig.code(ev, rig.last_code())
    await rig.patch(ev, PatchAction(resume=True))
    done = rig.answered[-1].view.evaluation
    assert triple(done) == ("CLOSED", "Under Review", "REVIEW")
    assert done.tags == ("OTP Approved", "PII Not Provided")


# -- PATCH: one request id, one change --------------------------------------


async def test_a_repeated_request_id_gets_the_stored_answer(rig: Evaluations) -> None:
    ev = (await rig.start()).evaluation
    first = await rig.patch(ev, PatchAction(code=rig.wrong()), request_id="same")
    again = await rig.patch(ev, PatchAction(code=rig.last_code()), request_id="same")
    assert again == first and first.body == {"kind": "invalid_code", "sub_status": ev.sub_status}
    assert len(rig.answered) == 1  # the repeat rendered nothing and changed nothing
    assert rig.session(ev).attempts == 1
    assert (await rig.current(ev)).state is EvaluationState.AWAITING_CODE


async def test_a_request_id_still_in_flight_is_a_conflict_until_it_goes_stale(
    rig: Evaluations,
) -> None:
    ev = (await rig.start()).evaluation
    now = rig.clock.now()
    async with rig.uow() as uow:  # a request that claimed the id and never answered
        claim = await uow.idempotency.claim(
            TENANT, f"eval:{ev.id}", "busy", now, now - STALE_CLAIM_SECONDS
        )
        assert claim.won
        await uow.commit()
    with pytest.raises(PatchConflict, match="still being processed"):
        await rig.patch(ev, PatchAction(code=rig.last_code()), request_id="busy")
    assert rig.session(ev).attempts == 0
    rig.clock.advance(STALE_CLAIM_SECONDS + 1)
    await rig.patch(ev, PatchAction(code=rig.last_code()), request_id="busy")
    assert rig.answered[-1].kind is PatchKind.VERIFIED


async def test_a_refused_patch_stores_no_answer(rig: Evaluations) -> None:
    ev = (await rig.start()).evaluation
    with pytest.raises(InvalidInput):
        await rig.patch(ev, PatchAction(code=rig.last_code(), workflow=ONBOARDING), "r")
    await rig.patch(ev, PatchAction(code=rig.last_code()), "r")  # corrected: applied
    assert rig.answered[-1].kind is PatchKind.VERIFIED


# -- workflow aliases -------------------------------------------------------


async def test_an_alias_runs_its_target_under_its_own_name() -> None:
    rig = Evaluations()
    rig.service = rig.evaluations.aliased({"mine": OTP})
    view = await rig.start("mine")
    assert view.evaluation.workflow == "mine" and view.workflow.name == "mine"
    assert view.workflow.id == rig.evaluations.workflow(OTP).id
    await rig.patch(view.evaluation, PatchAction(code=rig.last_code(), workflow=OTP))
    assert rig.answered[-1].kind is PatchKind.VERIFIED  # the target's name is the same one
    other = (await rig.start("mine", client_id="c-2", phone="+14155550111")).evaluation
    with pytest.raises(InvalidInput, match="not this evaluation's"):
        await rig.patch(other, PatchAction(code="123456", workflow=ONBOARDING))


# -- the sandbox's magic values ---------------------------------------------


async def test_the_sandbox_accepts_any_code_but_zeros(rig: Evaluations) -> None:
    ev = (await rig.start(environment=Environment.SANDBOX)).evaluation
    assert (await rig.code(ev, "000000")).kind is PatchKind.INVALID_CODE
    assert (await rig.code(ev, "123456")).kind is PatchKind.VERIFIED


async def test_the_sandbox_failing_number_is_never_delivered(rig: Evaluations) -> None:
    ev = (await rig.start(environment=Environment.SANDBOX, phone=FAILING)).evaluation
    assert triple(ev) == ("CLOSED", "Decline", "REJECT") and ev.tags == ("OTP Delivery Failed",)
    assert rig.courier.messages == [] and rig.uow.opened == 1


# -- PUT state (review) -----------------------------------------------------


async def test_a_reviewer_sets_the_state_but_not_while_a_code_is_pending(
    rig: Evaluations,
) -> None:
    ev = (await rig.start()).evaluation
    with pytest.raises(PatchConflict, match="waiting for a code"):
        await rig.service.set_state(TENANT, ev.id, StateChange("ACCEPT", "CLOSED"))
    await rig.patch(ev, PatchAction(resume=True))
    reopened = await rig.service.set_state(TENANT, ev.id, StateChange("REVIEW", "OPEN"))
    assert reopened.evaluation.state is EvaluationState.OPEN
    assert reopened.evaluation.eval_status is EvalStatus.IN_PROGRESS
    closed = await rig.service.set_state(
        TENANT, ev.id, StateChange("ACCEPT", "CLOSED", notes="called the customer")
    )
    assert triple(closed.evaluation) == ("CLOSED", "Approve", "ACCEPT")
    set_event = rig.events("evaluation")[-1]
    assert set_event.action == "state_set" and set_event.detail is not None
    # The notes live on the evaluation (sealed); the audit trail only says they changed.
    assert closed.evaluation.notes == "called the customer"
    assert "notes" not in set_event.detail and set_event.detail["notes_changed"] is True
    assert set_event.detail["before"] == {
        "status": "OPEN",
        "sub_status": "In Review",
        "decision": "REVIEW",
        "eval_status": "evaluation_in_progress",
        "tags": ["OTP Not Verified"],
    }
    with pytest.raises(InvalidInput, match="only otpgate"):
        await rig.service.set_state(
            TENANT, ev.id, StateChange("REVIEW", "ON_HOLD", sub_status="Pending OTP Code")
        )
    with pytest.raises(InvalidInput, match="asks for no personal details"):
        await rig.service.set_state(
            TENANT, ev.id, StateChange("REVIEW", "ON_HOLD", sub_status="More information needed")
        )
