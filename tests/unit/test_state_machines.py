"""Each state machine's table: every move it lists works, a move it does not list raises.

The expected moves are written out here, independently of the tables, so that a move
added to or dropped from a table fails a test.
"""

from __future__ import annotations

import enum
from typing import Any

import pytest

from otpgate.core import session
from otpgate.core.errors import IllegalTransition, NotFound
from otpgate.core.model import Channel, Destination, DestinationKind, Environment, Scope
from otpgate.core.states import TransitionTable
from otpgate.core.uow import StoredAnswer
from otpgate.flows.evaluation import states as evaluation
from otpgate.flows.evaluation.records import Evaluation
from otpgate.flows.evaluation.review import StateChange
from otpgate.flows.evaluation.service import PatchAction, PatchResult, StartEvaluation
from otpgate.flows.evaluation.states import EvaluationState as E
from otpgate.flows.phonematch import records as phonematch
from otpgate.flows.phonematch.records import FinalOutcome, Transaction
from otpgate.flows.phonematch.records import TransactionState as T
from otpgate.flows.phonematch.rules import OutOfBandOptions
from otpgate.flows.phonematch.service import BeginRequest
from otpgate.flows.sponsor import states as sponsor
from otpgate.flows.sponsor.service import SendOtp
from otpgate.flows.sponsor.states import OtpState as O
from otpgate.testing.flows import FlowRig

S = session.SessionState
PHONE = Destination(DestinationKind.PHONE, "+14155550100", "US", "mobile", "1")
REVIEWED = {E.AWAITING_DETAILS, E.HELD, E.OPEN, E.CLOSED}

EXPECTED: dict[str, tuple[TransitionTable[enum.Enum], dict[enum.Enum, set[enum.Enum]]]] = {
    "session": (
        session.TRANSITIONS,  # type: ignore[dict-item]
        {S.PENDING: {S.VERIFIED, S.FAILED, S.EXPIRED, S.CANCELLED, S.UNDELIVERED}},
    ),
    "evaluation": (
        evaluation.TRANSITIONS,  # type: ignore[dict-item]
        {
            E.AWAITING_CODE: {E.AWAITING_CODE, E.AWAITING_DETAILS, E.HELD, E.CLOSED},
            **{state: REVIEWED for state in REVIEWED},
        },
    ),
    "gateway": (
        phonematch.TRANSITIONS,  # type: ignore[dict-item]
        {T.PENDING: {T.PASSED, T.FAILED}},
    ),
    "sponsor": (
        sponsor.TRANSITIONS,  # type: ignore[dict-item]
        {
            O.SENT: {O.SENT, O.UNDELIVERED, O.INVALIDATED, O.EXPIRED, O.VALIDATED},
            O.VALIDATED: {O.REDEEMED, O.LAPSED},
        },
    ),
}
MACHINES = sorted(EXPECTED)


@pytest.mark.parametrize("machine", MACHINES)
def test_every_listed_move_works(machine: str) -> None:
    table, expected = EXPECTED[machine]
    for source, targets in expected.items():
        for target in targets:
            assert table.move(source, target) is target
    listed = {(t.source, t.target) for t in table.transitions()}
    assert listed == {(s, t) for s, targets in expected.items() for t in targets}


@pytest.mark.parametrize("machine", MACHINES)
def test_every_other_move_raises(machine: str) -> None:
    table, expected = EXPECTED[machine]
    refused = [
        (source, target)
        for source in table.states
        for target in table.states
        if target not in expected.get(source, set())
    ]
    assert refused  # every machine has moves it refuses
    for source, target in refused:
        assert not table.allows(source, target)
        with pytest.raises(IllegalTransition) as raised:
            table.move(source, target)
        assert (raised.value.source, raised.value.target) == (source, target)
        assert table.name in str(raised.value)


@pytest.mark.parametrize(
    ("machine", "source", "target"),
    [
        ("session", S.VERIFIED, S.PENDING),
        ("session", S.FAILED, S.VERIFIED),
        ("evaluation", E.CLOSED, E.AWAITING_CODE),
        ("evaluation", E.HELD, E.AWAITING_CODE),
        ("gateway", T.PASSED, T.FAILED),
        ("gateway", T.FAILED, T.PENDING),
        ("sponsor", O.REDEEMED, O.REDEEMED),
        ("sponsor", O.INVALIDATED, O.VALIDATED),
        ("sponsor", O.SENT, O.REDEEMED),
    ],
)
def test_samples_of_refused_moves(machine: str, source: enum.Enum, target: enum.Enum) -> None:
    with pytest.raises(IllegalTransition):
        EXPECTED[machine][0].move(source, target)


def test_a_table_needs_a_row_for_every_state() -> None:
    class Light(enum.Enum):
        RED = 1
        GREEN = 2

    with pytest.raises(ValueError, match="no row for"):
        TransitionTable("light", Light, {Light.RED: {Light.GREEN}})


def test_the_evaluation_state_is_read_off_its_status_and_sub_status() -> None:
    state_of = evaluation.state_of
    assert state_of("ON_HOLD", "Pending OTP Code") is E.AWAITING_CODE
    assert state_of("ON_HOLD", "More information needed") is E.AWAITING_DETAILS
    assert state_of("ON_HOLD", "On Hold") is E.HELD
    assert state_of("OPEN", "In Review") is E.OPEN
    assert state_of("CLOSED", "Approve") is E.CLOSED


def test_a_finished_transaction_cannot_finish_again() -> None:
    pending = Transaction(
        id="x",
        tenant_id="t1",
        session_id="s",
        service="PhoneMatch5.0.SMS",
        reference=None,
        user="acme",
        company="Acme",
        created_at=0.0,
        environment=Environment.SANDBOX,
    )
    passed = pending.finished(FinalOutcome.MATCHED, 12345678, 1.0)
    assert (passed.state, passed.outcome, passed.finished_at) == (
        T.PASSED,
        FinalOutcome.MATCHED,
        1.0,
    )
    assert pending.finished(FinalOutcome.EXPIRED, 1, 1.0).state is T.FAILED
    with pytest.raises(IllegalTransition):
        passed.finished(FinalOutcome.EXPIRED, 1, 2.0)


# -- the flows ask their tables: a move a table drops is refused, nothing written ----


def _drop(mp: pytest.MonkeyPatch, flow: str, table: TransitionTable[Any], move: Any) -> None:
    """Run ``flows.<flow>.service`` with ``table`` less ``move`` (a ``(source, target)``)."""
    source, target = move
    moves = {s: set(ts) - ({target} if s == source else set()) for s, ts in table.moves.items()}
    strict = TransitionTable(table.name, table.states, moves)
    mp.setattr(f"otpgate.flows.{flow}.service.TRANSITIONS", strict)


async def _started(rig: FlowRig) -> Evaluation:
    start = StartEvaluation("t1", Environment.PRODUCTION, "c-1", "otp_verification", phone=PHONE)
    return (await rig.evaluations.start(start)).evaluation


async def test_an_evaluation_change_its_table_drops_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = FlowRig()
    ev = await _started(rig)
    _drop(monkeypatch, "evaluation", evaluation.TRANSITIONS, (E.AWAITING_CODE, E.CLOSED))
    with pytest.raises(IllegalTransition):
        await rig.evaluations.patch("t1", ev.id, "r", PatchAction(resume=True), _answer)
    after = (await rig.evaluations.get("t1", ev.id)).evaluation
    assert after.state is E.AWAITING_CODE and after.version == ev.version
    assert ev.session_id is not None and rig.db.sessions[ev.session_id].state is S.PENDING


async def test_a_reviewers_change_its_table_drops_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = FlowRig()
    ev = await _started(rig)
    await rig.evaluations.patch("t1", ev.id, "r", PatchAction(resume=True), _answer)
    _drop(monkeypatch, "evaluation", evaluation.TRANSITIONS, (E.CLOSED, E.OPEN))
    with pytest.raises(IllegalTransition):
        await rig.evaluations.set_state("t1", ev.id, StateChange("REVIEW", "OPEN"))
    assert (await rig.evaluations.get("t1", ev.id)).evaluation.state is E.CLOSED


async def test_a_gateway_finish_its_table_drops_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = FlowRig()
    begun = await rig.gateway.begin(
        BeginRequest(
            tenant_id="t1",
            environment=Environment.PRODUCTION,
            channel=Channel.SMS,
            service="PhoneMatch5.0.SMS",
            user="acme",
            company="Acme",
            reference=None,
            options=OutOfBandOptions(),
            phone=PHONE.value,
        )
    )
    assert begun.token is not None
    _drop(monkeypatch, "phonematch", phonematch.TRANSITIONS, (T.PENDING, T.PASSED))
    with pytest.raises(IllegalTransition):
        await rig.gateway.check(begun.token, rig.courier.last_code())
    [(transaction, _, final)] = rig.db.table("gateway_transactions").values()
    assert transaction.state is T.PENDING and final is None


async def test_the_memory_store_finishes_a_transaction_once() -> None:
    rig = FlowRig()
    transaction = Transaction(
        "x", "t1", "s", "PhoneMatch5.0.SMS", None, "acme", "Acme", 0.0, Environment.SANDBOX
    )
    async with rig.uow() as uow:
        await uow.gateway.create(transaction, "hash")
        assert await uow.gateway.finish("x", FinalOutcome.MATCHED, "final", 1, 1.0)
        assert not await uow.gateway.finish("x", FinalOutcome.EXPIRED, "final-2", 2, 2.0)
        await uow.commit()
    [(finished, _, final)] = rig.db.table("gateway_transactions").values()
    assert (finished.outcome, final) == (FinalOutcome.MATCHED, "final")


async def _sent_sponsor_otp(rig: FlowRig) -> str:
    scope = Scope("t1", Environment.PRODUCTION)
    await rig.sponsors.save_sponsor(scope, "acme", "Acme", [Channel.SMS], {"p": ["op"]})
    await rig.sponsors.save_beneficiary(scope, "acme", "b1", PHONE, None)
    request = SendOtp("t1", Environment.PRODUCTION, "acme", "b1", Channel.SMS)
    return (await rig.sponsors.send(request)).otp_id


async def test_a_sponsor_validation_its_table_drops_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = FlowRig()
    otp_id = await _sent_sponsor_otp(rig)
    _drop(monkeypatch, "sponsor", sponsor.TRANSITIONS, (O.SENT, O.VALIDATED))
    with pytest.raises(IllegalTransition):
        await rig.sponsors.validate("t1", Environment.PRODUCTION, otp_id, rig.courier.last_code())
    assert rig.db.table("sponsor_verification_tokens") == {}


async def test_a_sponsor_redemption_its_table_drops_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = FlowRig()
    otp_id = await _sent_sponsor_otp(rig)
    code = rig.courier.last_code()
    issued = await rig.sponsors.validate("t1", Environment.PRODUCTION, otp_id, code)
    _drop(monkeypatch, "sponsor", sponsor.TRANSITIONS, (O.VALIDATED, O.REDEEMED))
    token = issued.otp_verification_token
    with pytest.raises(NotFound):  # what a token that cannot be redeemed any more gets
        await rig.sponsors.redeem("t1", Environment.PRODUCTION, token, "op")
    [record] = rig.db.table("sponsor_verification_tokens").values()
    assert record.redeemed_at is None


def _answer(result: PatchResult) -> StoredAnswer:
    return StoredAnswer(200, str(result.kind))
