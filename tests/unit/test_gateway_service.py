"""The gateway service on the in-memory unit of work: begin, check, status.

Every unit of work the service opens is counted, so that each use case's number of
transactions is pinned down, and the audit trail is read from the committed tables
only: an event is there exactly when the change it records is.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from otpgate.core.errors import NotFound, RateLimited
from otpgate.core.memory import MemoryLimiter, RecordingCourier
from otpgate.core.model import AuditEvent, Channel, Environment, Policy, Scope
from otpgate.core.session import SessionState, VerificationSession
from otpgate.flows.phonematch.records import FinalOutcome, Transaction, TransactionState
from otpgate.flows.phonematch.rules import OutOfBandOptions
from otpgate.flows.phonematch.service import (
    ALREADY_CLOSED,
    UNUSABLE,
    BeginRequest,
    CheckOutcome,
    CheckResult,
    SendOutcome,
    hash_token,
)
from otpgate.testing.flows import FlowRig, InjectedFailure

PHONE = "+14155550100"
FAILING = "+11234567890"  # the sandbox's number whose delivery always fails

LIVE = Scope("t1", Environment.PRODUCTION)


class Gateway(FlowRig):
    """The shared rig, with the gateway's own helpers."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.service = self.gateway

    def request(
        self,
        environment: Environment = Environment.PRODUCTION,
        phone: str = PHONE,
        tenant: str = "t1",
    ) -> BeginRequest:
        return BeginRequest(
            tenant_id=tenant,
            environment=environment,
            channel=Channel.SMS,
            service="PhoneMatch5.0.SMS",
            user="acme",
            company="Acme",
            reference="r-1",
            options=OutOfBandOptions(),
            phone=phone,
        )

    async def token(self, environment: Environment = Environment.PRODUCTION) -> str:
        begun = await self.service.begin(self.request(environment))
        assert begun.outcome is SendOutcome.SENT and begun.token is not None
        return begun.token

    def transactions(self) -> list[Transaction]:
        return [row[0] for row in self.db.table("gateway_transactions").values()]

    def session(self) -> VerificationSession:
        [session] = self.db.sessions.values()
        return session

    def events(self, subject_type: str | None = "gateway_transaction") -> list[AuditEvent]:
        return super().events(subject_type)

    def code(self) -> str:
        return self.courier.last_code()

    def wrong(self) -> str:
        code = self.code()
        return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


@pytest.fixture
def gw() -> Gateway:
    return Gateway()


# -- begin ------------------------------------------------------------------


async def test_begin_delivers_then_creates_the_transaction_in_a_second_unit_of_work(
    gw: Gateway,
) -> None:
    begun = await gw.service.begin(gw.request())
    assert begun.outcome is SendOutcome.SENT and begun.token is not None
    assert gw.uow.opened == 2  # open the session | after the provider: record, create
    [row] = gw.db.table("gateway_transactions").values()
    transaction, token_hash, final = row
    assert token_hash == hash_token(begun.token) and begun.token not in repr(row)
    assert final is None and transaction.state is TransactionState.PENDING
    assert transaction.session_id == gw.session().id
    [created] = gw.events()
    assert (created.action, created.subject_id, created.tenant_id) == (
        "created",
        transaction.id,
        "t1",
    )
    assert created.detail == {"service": "PhoneMatch5.0.SMS", "session_id": gw.session().id}
    assert gw.session().sends == 1


async def test_a_sandbox_begin_is_one_unit_of_work() -> None:
    gw = Gateway(courier=RecordingCourier(outbox=True))
    begun = await gw.service.begin(gw.request(Environment.SANDBOX))
    assert begun.outcome is SendOutcome.SENT
    assert gw.uow.opened == 1
    assert len(gw.db.outbox) == 1 and len(gw.transactions()) == 1
    assert [e.action for e in gw.events()] == ["created"]


async def test_the_sandbox_failing_number_is_undelivered_in_one_unit_of_work() -> None:
    gw = Gateway(courier=RecordingCourier(outbox=True))
    begun = await gw.service.begin(gw.request(Environment.SANDBOX, phone=FAILING))
    assert begun.outcome is SendOutcome.UNDELIVERED and begun.token is None
    assert begun.issues == ("the code could not be delivered",)
    assert gw.uow.opened == 1
    assert gw.transactions() == [] and gw.events() == []
    assert gw.session().state is SessionState.UNDELIVERED


async def test_a_failed_delivery_creates_no_transaction() -> None:
    gw = Gateway(courier=RecordingCourier(fail=True))
    begun = await gw.service.begin(gw.request())
    assert begun.outcome is SendOutcome.UNDELIVERED and begun.token is None
    assert gw.uow.opened == 2
    assert gw.transactions() == [] and gw.events() == []
    assert gw.session().state is SessionState.UNDELIVERED
    assert [e.action for e in gw.events("session")] == ["session.started", "session.undelivered"]


async def test_screening_refusals_open_no_unit_of_work(gw: Gateway) -> None:
    blacklisted = replace(gw.request(), options=OutOfBandOptions(blacklist=frozenset({"US"})))
    assert (await gw.service.begin(blacklisted)).outcome is SendOutcome.DATA_CHECK_FAILED
    bad = await gw.service.begin(gw.request(phone="12345"))
    assert bad.outcome is SendOutcome.DATA_CHECK_FAILED
    assert gw.uow.opened == 0 and gw.db.tables == {}


# -- check ------------------------------------------------------------------


async def test_right_code_matches_in_one_unit_of_work_and_status_reads_it(gw: Gateway) -> None:
    token = await gw.token()
    before = gw.uow.opened
    checked = await gw.service.check(token, gw.code(), LIVE)
    assert gw.uow.opened == before + 1
    assert checked.outcome is CheckOutcome.MATCHED and checked.final_token is not None
    assert checked.issues == () and not checked.open
    assert gw.session().state is SessionState.VERIFIED and gw.session().attempts == 1
    finished = gw.events()[-1]
    assert (finished.action, finished.detail) == (
        "finished",
        {"outcome": "matched", "state": "passed"},
    )

    status = await gw.service.status(checked.final_token, LIVE)
    assert (gw.uow.opened, gw.uow.reads) == (before + 1, 1)
    assert status.state is TransactionState.PASSED and status.outcome is FinalOutcome.MATCHED
    assert status.confirmation == checked.confirmation
    assert status.finished_at == gw.clock.now()
    with pytest.raises(NotFound, match=UNUSABLE):
        await gw.service.check(token, gw.code())


async def test_wrong_key_counts_down_and_keeps_the_token_open(gw: Gateway) -> None:
    token = await gw.token()
    checked = await gw.service.check(token, gw.wrong())
    assert checked.outcome is CheckOutcome.MISMATCHED and checked.open
    assert checked.issues == ("the code did not match; 4 attempts remain",)
    assert checked.final_token is None and checked.attempts_remaining == 4
    assert [e.action for e in gw.events()] == ["created"]
    assert gw.transactions()[0].state is TransactionState.PENDING
    assert (await gw.service.check(token, gw.code())).outcome is CheckOutcome.MATCHED


async def test_the_last_wrong_key_closes_the_transaction_and_locks_the_number(
    gw: Gateway,
) -> None:
    token = await gw.token()
    answers = [await gw.service.check(token, gw.wrong()) for _ in range(5)]
    assert [a.outcome for a in answers] == [CheckOutcome.MISMATCHED] * 4 + [
        CheckOutcome.MAX_ATTEMPTS
    ]
    assert answers[3].issues == ("the code did not match; 1 attempt remains",)
    last = answers[-1]
    assert last.final_token is not None and not last.open
    assert last.issues == ("too many wrong codes: the transaction is closed",)
    assert gw.session().state is SessionState.FAILED
    with pytest.raises(NotFound):
        await gw.service.check(token, gw.code())
    status = await gw.service.status(last.final_token)
    assert (status.state, status.outcome) == (TransactionState.FAILED, FinalOutcome.MAX_ATTEMPTS)
    assert gw.events()[-1].detail == {"outcome": "max_attempts", "state": "failed"}


async def test_a_code_after_the_ttl_closes_the_transaction_as_expired(gw: Gateway) -> None:
    token = await gw.token()
    gw.clock.advance(601)
    checked = await gw.service.check(token, gw.code())
    assert checked.outcome is CheckOutcome.EXPIRED and checked.final_token is not None
    assert checked.issues == ("the code has expired: the transaction is closed",)
    assert gw.session().state is SessionState.EXPIRED
    status = await gw.service.status(checked.final_token)
    assert status.outcome is FinalOutcome.EXPIRED


async def test_a_malformed_key_spends_no_attempt(gw: Gateway) -> None:
    token = await gw.token()
    for key in ("12345", "1234567", "12a456", ""):
        checked = await gw.service.check(token, key)
        assert checked.outcome is CheckOutcome.MISMATCHED and checked.open
        assert checked.issues == ("codematch.key must be 6 digits",)
        assert checked.attempts_remaining == 5
    assert gw.session().attempts == 0
    assert (await gw.service.check(token, gw.code())).outcome is CheckOutcome.MATCHED


async def test_a_malformed_key_after_the_ttl_closes_the_transaction(gw: Gateway) -> None:
    token = await gw.token()
    gw.clock.advance(601)
    checked = await gw.service.check(token, "123")
    assert checked.outcome is CheckOutcome.EXPIRED and checked.final_token is not None
    assert gw.session().attempts == 0


async def test_codes_keep_the_length_their_session_was_opened_with(gw: Gateway) -> None:
    short = await gw.token()
    gw.otp.policy = Policy(code_length=8)  # the operator changed the code length
    assert (await gw.service.check(short, "1234567")).issues == ("codematch.key must be 6 digits",)
    assert (await gw.service.check(short, gw.code())).outcome is CheckOutcome.MATCHED
    long = await gw.token()
    assert len(gw.code()) == 8
    gw.otp.policy = Policy(code_length=6)
    assert (await gw.service.check(long, "123456")).issues == ("codematch.key must be 8 digits",)
    assert gw.db.sessions[gw.transactions()[-1].session_id].attempts == 0
    assert (await gw.service.check(long, gw.code())).outcome is CheckOutcome.MATCHED


async def test_a_session_with_a_closed_code_answers_closed(gw: Gateway) -> None:
    token = await gw.token()
    async with gw.uow() as uow:  # the code was killed outside the gateway
        await uow.sessions.transition(
            gw.session().id, SessionState.PENDING, SessionState.CANCELLED, gw.clock.now()
        )
        await uow.commit()
    for key in (gw.code(), "1"):
        checked = await gw.service.check(token, key)
        assert checked.outcome is CheckOutcome.CLOSED and checked.issues == (ALREADY_CLOSED,)
        assert checked.final_token is None and not checked.open


async def test_tokens_are_scoped_and_unknown_ones_refused(gw: Gateway) -> None:
    token = await gw.token()
    for other in (Scope("t2", Environment.PRODUCTION), Scope("t1", Environment.SANDBOX)):
        with pytest.raises(NotFound, match=UNUSABLE):
            await gw.service.check(token, gw.code(), other)
    for bad in ("o76m3nvz94jvaatfsmespzgx3qkzjjl1", "short", "A" * 32):
        with pytest.raises(NotFound, match=UNUSABLE):
            await gw.service.check(bad, gw.code())
    with pytest.raises(NotFound):
        await gw.service.status(token)  # a continuation token is not a final token
    final = (await gw.service.check(token, gw.code(), LIVE)).final_token
    assert final is not None
    for other in (Scope("t2", Environment.PRODUCTION), Scope("t1", Environment.SANDBOX)):
        with pytest.raises(NotFound):
            await gw.service.status(final, other)
    assert (await gw.service.status(final, LIVE)).environment is Environment.PRODUCTION
    with pytest.raises(NotFound):
        await gw.service.status("short")


async def test_the_verify_limit_is_counted_before_the_unit_of_work() -> None:
    limiter = MemoryLimiter()
    gw = Gateway(limiter=limiter, policy=Policy(verify_limit_per_minute=2))
    token = await gw.token()
    await gw.service.check(token, "12")  # malformed: not counted
    for _ in range(2):
        assert (await gw.service.check(token, gw.wrong())).outcome is CheckOutcome.MISMATCHED
    with pytest.raises(RateLimited):
        await gw.service.check(token, gw.code())
    assert gw.session().attempts == 2
    assert [count for (key, _), count in limiter.counts.items() if key.startswith("verify:")] == [3]
    gw.clock.advance(61)
    assert (await gw.service.check(token, gw.code())).outcome is CheckOutcome.MATCHED


async def test_without_redis_the_verify_limit_is_counted_in_the_database() -> None:
    gw = Gateway(policy=Policy(verify_limit_per_minute=2))
    token = await gw.token()
    for _ in range(2):
        await gw.service.check(token, gw.wrong())
    with pytest.raises(RateLimited):
        await gw.service.check(token, gw.code())
    assert gw.session().attempts == 2


# -- concurrency ------------------------------------------------------------


async def test_concurrent_right_codes_issue_one_final_token(gw: Gateway) -> None:
    token = await gw.token()
    answers = await asyncio.gather(
        *(gw.service.check(token, gw.code()) for _ in range(8)), return_exceptions=True
    )
    results = [a for a in answers if isinstance(a, CheckResult)]
    assert [r.outcome for r in results] == [CheckOutcome.MATCHED]
    assert sum(r.final_token is not None for r in results) == 1
    assert all(isinstance(a, NotFound) for a in answers if a not in results)
    assert [e.action for e in gw.events()] == ["created", "finished"]


async def test_concurrent_wrong_codes_close_the_transaction_once(gw: Gateway) -> None:
    token = await gw.token()
    answers = await asyncio.gather(
        *(gw.service.check(token, gw.wrong()) for _ in range(12)), return_exceptions=True
    )
    results = [a for a in answers if isinstance(a, CheckResult)]
    assert sorted(r.outcome for r in results) == sorted(
        [CheckOutcome.MISMATCHED] * 4 + [CheckOutcome.MAX_ATTEMPTS]
    )
    assert sum(r.final_token is not None for r in results) == 1
    assert len([a for a in answers if isinstance(a, NotFound)]) == 7
    assert gw.session().attempts == 5


# -- an audit event exists exactly when its change does ---------------------


async def test_a_begin_that_fails_after_the_audit_leaves_neither_row_nor_event(
    gw: Gateway,
) -> None:
    gw.uow.fail_audit = "created"
    with pytest.raises(InjectedFailure):
        await gw.service.begin(gw.request())
    assert gw.transactions() == [] and gw.events() == []
    # The first unit of work (the session) had committed; the second rolled back whole.
    assert gw.session().sends == 0
    assert [e.action for e in gw.events("session")] == ["session.started"]


async def test_a_check_whose_commit_fails_changes_nothing(gw: Gateway) -> None:
    token = await gw.token()
    gw.uow.fail_commit = True
    with pytest.raises(InjectedFailure):
        await gw.service.check(token, gw.code())
    assert gw.transactions()[0].state is TransactionState.PENDING
    assert gw.session().state is SessionState.PENDING and gw.session().attempts == 0
    assert [e.action for e in gw.events()] == ["created"]
    assert [e.action for e in gw.events("session")] == ["session.started"]
    gw.uow.fail_commit = False
    assert (await gw.service.check(token, gw.code())).outcome is CheckOutcome.MATCHED
    assert [e.action for e in gw.events()] == ["created", "finished"]


async def test_a_finish_whose_audit_fails_leaves_the_transaction_open(gw: Gateway) -> None:
    token = await gw.token()
    gw.uow.fail_audit = "finished"
    with pytest.raises(InjectedFailure):
        await gw.service.check(token, gw.code())
    assert gw.transactions()[0].state is TransactionState.PENDING
    assert gw.session().state is SessionState.PENDING
    assert [e.action for e in gw.events()] == ["created"]
