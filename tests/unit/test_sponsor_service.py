"""The sponsor flow on the in-memory unit of work: one unit of work per use case."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from otpgate.core.errors import Forbidden, InvalidInput, NotFound, RateLimited
from otpgate.core.memory import MemoryLimiter, RecordingCourier
from otpgate.core.model import Channel, Destination, DestinationKind, Environment, Scope
from otpgate.core.ports import Limiter, NoLimiter
from otpgate.core.session import SessionState
from otpgate.flows.sponsor.errors import (
    AlreadyValidated,
    ChannelUnavailable,
    DeliveryFailed,
    OtpGone,
    WrongCode,
)
from otpgate.flows.sponsor.memory import MemoryChallenges
from otpgate.flows.sponsor.model import ClientBudget, SponsorPolicy
from otpgate.flows.sponsor.service import SendOtp
from otpgate.testing.flows import FlowRig

TENANT = "t1"
PROD = Scope(TENANT, Environment.PRODUCTION)
SANDBOX = Scope(TENANT, Environment.SANDBOX)
SLUG = "sponsor-sandbox"
BNF = "bnf_1"
PHONE = Destination(DestinationKind.PHONE, "+14155550100", "US", "mobile", "1")
EMAIL = Destination(DestinationKind.EMAIL, "ana@example.com")
FAILING = Destination(DestinationKind.PHONE, "+11234567890", "US", "mobile", "1")


class World(FlowRig):
    """The shared rig, with the sponsor flow's own helpers."""

    def __init__(
        self,
        *,
        limiter: Limiter | None = None,
        courier: RecordingCourier | None = None,
        policy: SponsorPolicy | None = None,
    ) -> None:
        super().__init__(limiter=limiter, courier=courier, sponsor_policy=policy)
        self.service = self.sponsors

    async def set_up(self, *, active: bool = True) -> None:
        for scope in (PROD, SANDBOX):  # the same sponsor, set up in each environment
            await self.service.save_sponsor(
                scope,
                SLUG,
                "Sandbox Health",
                [Channel.SMS, Channel.EMAIL],
                {"pharmacy": ["dispensation.complete"]},
                active,
            )
            await self.service.save_beneficiary(scope, SLUG, BNF, PHONE, EMAIL)
            await self.service.save_beneficiary(scope, SLUG, "bnf_magic", FAILING, None)

    def request(
        self,
        beneficiary: str = BNF,
        channel: Channel = Channel.SMS,
        environment: Environment = Environment.PRODUCTION,
    ) -> SendOtp:
        return SendOtp(TENANT, environment, SLUG, beneficiary, channel)

    async def validate(self, otp_id: str, code: str, client: ClientBudget | None = None) -> Any:
        return await self.service.validate(TENANT, Environment.PRODUCTION, otp_id, code, client)

    async def redeem(self, token: str, operation: str = "dispensation.complete") -> Any:
        return await self.service.redeem(TENANT, Environment.PRODUCTION, token, operation)

    def actions(self, subject_type: str | None = None) -> list[str]:
        return [f"{e.subject_type}.{e.action}" for e in self.events(subject_type)]

    def session(self, otp_id: str) -> Any:
        otp = self.db.table("sponsor_otps")[otp_id]
        return self.db.sessions[otp.session_id]


def wrong(code: str) -> str:
    return "111111" if code != "111111" else "222222"


@pytest.fixture
async def world() -> World:
    w = World()
    await w.set_up()
    return w


async def test_send_validate_redeem_one_unit_of_work_each(world: World) -> None:
    before = world.db.commits
    sent = await world.service.send(world.request())
    assert world.db.commits == before + 2  # the send, then its delivery's outcome
    assert sent.masked_destination == PHONE.masked() and sent.expires_in == 300
    assert world.courier.messages[-1].brand == "Sandbox Health"

    before = world.db.commits
    issued = await world.validate(sent.otp_id, world.courier.last_code())
    assert world.db.commits == before + 1
    assert issued.otp_verification_token.startswith("otvt_") and issued.expires_in == 600

    before = world.db.commits
    done = await world.redeem(issued.otp_verification_token)
    assert world.db.commits == before + 1
    assert (done.otp_id, done.sponsor_slug, done.beneficiary_id) == (sent.otp_id, SLUG, BNF)
    assert world.actions() == [
        *["sponsor.saved", "beneficiary.saved", "beneficiary.saved"] * 2,  # one per environment
        "session.session.started",
        "sponsor_otp.created",
        "session.session.verified",
        "verification_token.issued",
        "verification_token.redeemed",
    ]
    events = {(e.subject_type, e.action): e for e in world.db.events}
    assert events[("sponsor_otp", "created")].detail == {
        "session_id": world.session(sent.otp_id).id,
        "sponsor_id": world.db.events[0].subject_id,
        "channel": "sms",
    }
    assert events[("verification_token", "redeemed")].subject_id == sent.otp_id
    assert events[("verification_token", "redeemed")].detail == {
        "operation": "dispensation.complete"
    }


async def test_a_sandbox_send_is_one_unit_of_work() -> None:
    world = World(courier=RecordingCourier(outbox=True))
    await world.set_up()
    before = world.db.commits
    sent = await world.service.send(world.request(environment=Environment.SANDBOX))
    assert world.db.commits == before + 1
    assert len(world.db.outbox) == 1
    assert world.session(sent.otp_id).sends == 1
    issued = await world.service.validate(TENANT, Environment.SANDBOX, sent.otp_id, "123456")
    assert issued.expires_in == 600


async def test_wrong_codes_count_down_then_the_otp_is_gone(world: World) -> None:
    sent = await world.service.send(world.request())
    code = world.courier.last_code()
    remaining = []
    for _ in range(3):
        with pytest.raises(WrongCode) as refused:
            await world.validate(sent.otp_id, wrong(code))
        remaining.append(refused.value.attempts_remaining)
    assert remaining == [2, 1, 0]
    assert "invalidated" in refused.value.message
    assert world.session(sent.otp_id).state is SessionState.FAILED
    with pytest.raises(OtpGone):
        await world.validate(sent.otp_id, code)
    # The core's lockout of the destination applies to the sponsor flow too.
    with pytest.raises(RateLimited):
        await world.service.send(world.request())


async def test_a_malformed_code_costs_no_attempt_and_leaves_no_event(world: World) -> None:
    sent = await world.service.send(world.request())
    events = len(world.db.events)
    with pytest.raises(InvalidInput):
        await world.validate(sent.otp_id, "12a456")
    assert world.session(sent.otp_id).attempts == 0
    assert len(world.db.events) == events
    for _ in range(2):
        with pytest.raises(WrongCode):
            await world.validate(sent.otp_id, wrong(world.courier.last_code()))
    assert (await world.validate(sent.otp_id, world.courier.last_code())).expires_in == 600


async def test_the_otp_expires_after_300_seconds(world: World) -> None:
    sent = await world.service.send(world.request())
    world.clock.advance(300)
    with pytest.raises(OtpGone, match="expired"):
        await world.validate(sent.otp_id, world.courier.last_code())
    assert world.session(sent.otp_id).state is SessionState.EXPIRED


async def test_validated_twice_and_after_redemption(world: World) -> None:
    sent = await world.service.send(world.request())
    code = world.courier.last_code()
    issued = await world.validate(sent.otp_id, code)
    with pytest.raises(AlreadyValidated):
        await world.validate(sent.otp_id, code)
    await world.redeem(issued.otp_verification_token)
    with pytest.raises(NotFound):
        await world.validate(sent.otp_id, code)
    with pytest.raises(NotFound):
        await world.redeem(issued.otp_verification_token)


async def test_concurrent_validations_issue_one_token(world: World) -> None:
    sent = await world.service.send(world.request())
    code = world.courier.last_code()
    results = await asyncio.gather(
        *(world.validate(sent.otp_id, code) for _ in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, AlreadyValidated) for r in results if isinstance(r, Exception))
    assert len(world.db.table("sponsor_verification_tokens")) == 1


async def test_concurrent_redemptions_have_one_winner(world: World) -> None:
    sent = await world.service.send(world.request())
    issued = await world.validate(sent.otp_id, world.courier.last_code())
    results = await asyncio.gather(
        *(world.redeem(issued.otp_verification_token) for _ in range(20)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, NotFound) for r in results if isinstance(r, Exception))
    assert world.actions("verification_token") == ["verification_token.issued"] + [
        "verification_token.redeemed"
    ]


async def test_an_expired_token_and_an_operation_without_otp(world: World) -> None:
    sent = await world.service.send(world.request())
    issued = await world.validate(sent.otp_id, world.courier.last_code())
    with pytest.raises(Forbidden):
        await world.redeem(issued.otp_verification_token, "claims.submit")
    world.clock.advance(600)
    with pytest.raises(OtpGone, match="expired"):
        await world.redeem(issued.otp_verification_token)
    assert "verification_token.redeemed" not in world.actions()


async def test_sponsor_rules_refuse_before_anything_is_sent(world: World) -> None:
    with pytest.raises(NotFound):
        await world.service.send(world.request("bnf_nobody"))
    await world.service.save_beneficiary(PROD, SLUG, "bnf_phone", PHONE, None)
    with pytest.raises(ChannelUnavailable, match="no email"):
        await world.service.send(world.request("bnf_phone", Channel.EMAIL))
    await world.service.save_sponsor(PROD, SLUG, "Sandbox Health", [Channel.SMS], {}, False)
    with pytest.raises(Forbidden):
        await world.service.send(world.request())
    assert world.courier.messages == []
    assert world.db.sessions == {}


async def test_a_failed_delivery_answers_delivery_failed() -> None:
    world = World(courier=RecordingCourier(fail=True))
    await world.set_up()
    with pytest.raises(DeliveryFailed):
        await world.service.send(world.request())
    [session] = world.db.sessions.values()
    assert session.state is SessionState.UNDELIVERED
    assert "session.session.undelivered" in world.actions()


async def test_a_sandbox_number_that_always_fails_leaves_no_otp_id() -> None:
    world = World(courier=RecordingCourier(outbox=True))
    await world.set_up()
    with pytest.raises(DeliveryFailed):
        await world.service.send(world.request("bnf_magic", environment=Environment.SANDBOX))
    assert world.db.table("sponsor_otps") == {}
    [session] = world.db.sessions.values()
    assert session.state is SessionState.UNDELIVERED


@pytest.mark.parametrize("outside", [False, True], ids=["database", "outside"])
async def test_five_sends_per_hour_per_beneficiary(outside: bool) -> None:
    world = World(limiter=MemoryLimiter() if outside else NoLimiter())
    await world.set_up()
    world.clock.advance(3600 - world.clock.now() % 3600 + 1)
    for _ in range(5):
        await world.service.send(world.request(), await world.service.admit("key1"))
        world.clock.advance(61)  # clear of the core's 5-per-minute destination limit
    with pytest.raises(RateLimited, match="beneficiary") as refused:
        await world.service.send(world.request(), await world.service.admit("key1"))
    assert abs(refused.value.retry_after - (3600 - 5 * 61 - 1)) <= 1
    assert len(world.courier.messages) == 5
    world.clock.advance(refused.value.retry_after)
    await world.service.send(world.request())


@pytest.mark.parametrize("outside", [False, True], ids=["database", "outside"])
async def test_fifty_requests_per_minute_per_client(outside: bool) -> None:
    world = World(limiter=MemoryLimiter() if outside else NoLimiter())
    await world.set_up()
    world.clock.advance(60 - world.clock.now() % 60 + 0.5)
    bogus = "otp_01HX9NPQ12ABCDEFGH34567890"
    for i in range(50):
        client = await world.service.admit("key1")
        if i % 10 == 9:  # a request that fails before its unit of work is charged too
            await world.service.settle(client)
            continue
        with pytest.raises(NotFound):
            await world.validate(bogus, "123456", client)
        assert client.charged
    with pytest.raises(RateLimited) as refused:
        client = await world.service.admit("key1")
        await world.validate(bogus, "123456", client)
    assert refused.value.message == "too many requests from this client; back off"
    assert refused.value.retry_after == 60
    # Another client has its own budget.
    other = await world.service.admit("key2")
    assert (await world.service.sponsor(PROD, SLUG, other)).slug == SLUG
    world.clock.advance(60)
    client = await world.service.admit("key1")
    await world.service.send(world.request(), client)


async def test_a_malformed_code_still_charges_the_client(world: World) -> None:
    sent = await world.service.send(world.request())
    client = await world.service.admit("key1")
    with pytest.raises(InvalidInput):
        await world.validate(sent.otp_id, "12345", client)
    assert not client.charged  # its unit of work rolled back...
    await world.service.settle(client)  # ...so the route charges it on its own
    assert client.charged
    assert sum(world.db.table("counters").get(k, 0) for k in world.db.table("counters")) >= 1


async def test_an_audit_event_exists_iff_its_change_committed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = await world.service.send(world.request())
    code = world.courier.last_code()

    async def broken(self: MemoryChallenges, token: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(MemoryChallenges, "add_token", broken)
    with pytest.raises(RuntimeError):
        await world.validate(sent.otp_id, code)
    session = world.session(sent.otp_id)
    assert (session.state, session.attempts) == (SessionState.PENDING, 0)
    assert "session.session.verified" not in world.actions()
    assert "verification_token.issued" not in world.actions()

    monkeypatch.undo()
    await world.validate(sent.otp_id, code)
    assert world.actions()[-2:] == ["session.session.verified", "verification_token.issued"]


async def test_a_wrong_code_commits_its_attempt_and_its_event(world: World) -> None:
    sent = await world.service.send(world.request())
    with pytest.raises(WrongCode):
        await world.validate(sent.otp_id, wrong(world.courier.last_code()))
    assert world.session(sent.otp_id).attempts == 1
    assert world.actions()[-1] == "session.session.attempt_failed"


async def test_directory_writes_are_audited(world: World) -> None:
    await world.service.remove_beneficiary(PROD, SLUG, "bnf_magic")
    with pytest.raises(NotFound):
        await world.service.remove_beneficiary(PROD, SLUG, "bnf_magic")
    with pytest.raises(NotFound):
        await world.service.beneficiary(PROD, SLUG, "bnf_magic")
    assert world.actions("beneficiary") == ["beneficiary.saved"] * 4 + ["beneficiary.removed"]
    removed = world.db.events[-1]
    assert removed.subject_id == "bnf_magic"
    assert removed.detail == {"sponsor_id": (await world.service.sponsor(PROD, SLUG)).id}
    first = (await world.service.sponsor(PROD, SLUG)).id
    again = await world.service.save_sponsor(PROD, SLUG, "Renamed", [Channel.SMS], {})
    assert again.id == first and again.name == "Renamed"
    assert [s.slug for s in await world.service.sponsors(PROD)] == [SLUG]
    assert world.db.events[-1].detail == {"slug": SLUG, "channels": ["sms"], "active": True}


async def test_each_environment_has_its_own_sponsor_and_beneficiaries(world: World) -> None:
    sandbox, live = (
        await world.service.sponsor(SANDBOX, SLUG),
        await world.service.sponsor(PROD, SLUG),
    )
    assert sandbox.id != live.id and (sandbox.environment, live.environment) == (
        "sandbox",
        "production",
    )
    await world.service.save_beneficiary(SANDBOX, SLUG, BNF, FAILING, None)
    await world.service.remove_beneficiary(SANDBOX, SLUG, "bnf_magic")
    assert (await world.service.beneficiary(PROD, SLUG, BNF)).phone == PHONE
    assert (await world.service.beneficiary(PROD, SLUG, "bnf_magic")).phone == FAILING
    other = Scope("t2", Environment.PRODUCTION)
    with pytest.raises(NotFound):
        await world.service.sponsor(other, SLUG)


async def test_otp_ids_and_tokens_stay_in_their_environment(world: World) -> None:
    sent = await world.service.send(world.request())
    code = world.courier.last_code()
    with pytest.raises(NotFound):
        await world.service.validate(TENANT, Environment.SANDBOX, sent.otp_id, code)
    with pytest.raises(NotFound):
        await world.service.validate("t2", Environment.PRODUCTION, sent.otp_id, code)
    issued = await world.validate(sent.otp_id, code)
    token = issued.otp_verification_token
    with pytest.raises(NotFound):
        await world.service.redeem(TENANT, Environment.SANDBOX, token, "dispensation.complete")
    assert (await world.redeem(token)).otp_id == sent.otp_id
