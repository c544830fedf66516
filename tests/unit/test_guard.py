"""The abuse guard, rule by rule, on in-memory ports and a fake clock."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from otpgate.core.guard import GUARD_REFUSED_PHONE, Guard, GuardReason, Outcome
from otpgate.core.guard_memory import FaultyGuardStore, InMemoryGuardLists
from otpgate.core.guard_ports import ListScope, ListVerdict
from otpgate.core.guard_settings import GuardSettings, TenantBudget
from otpgate.core.model import Destination, Environment
from otpgate.destinations import parse_phone
from tests.unit.guard_rig import LOOSE, Rig, email, fingerprint, phone

MOBILE = "+447400123456"

REFUSED = [
    ("GB", PhoneNumberType.PREMIUM_RATE, "premium_rate"),
    ("FR", PhoneNumberType.SHARED_COST, "shared_cost"),
    ("GB", PhoneNumberType.TOLL_FREE, "toll_free"),
    ("GB", PhoneNumberType.PAGER, "pager"),
    ("DE", PhoneNumberType.VOICEMAIL, "voicemail"),
    ("GB", PhoneNumberType.UAN, "uan"),
]


def example(region: str, kind: int) -> Destination:
    number = phonenumbers.example_number_for_type(region, kind)
    return phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@pytest.mark.parametrize(("region", "kind", "line_type"), REFUSED)
async def test_each_refused_number_type_is_refused_for_good(
    region: str, kind: int, line_type: str
) -> None:
    destination = example(region, kind)
    assert destination.line_type == line_type
    decision = await Rig(LOOSE).send(destination)
    assert not decision.allowed
    assert decision.reasons == (GuardReason.NUMBER_TYPE,)
    assert decision.retry_after is None


async def test_refused_number_types_are_configurable() -> None:
    toll_free = example("GB", PhoneNumberType.TOLL_FREE)
    rig = Rig(LOOSE, refused_line_types=frozenset({"premium_rate"}))
    assert (await rig.send(toll_free)).allowed


async def test_the_guard_magic_number_is_refused_in_both_environments() -> None:
    magic = parse_phone(GUARD_REFUSED_PHONE, allow_magic=True)
    rig = Rig(LOOSE)
    for environment in Environment:
        decision = await rig.send(magic, environment=environment)
        assert decision.reasons == (GuardReason.REFUSED_NUMBER,)
    rig.lists.put(
        "t1", rig.guard.list_entry(ListScope.DESTINATION, GUARD_REFUSED_PHONE), ListVerdict.ALLOW
    )
    assert not (await rig.send(magic)).allowed  # not even an allow entry lifts it


async def test_prefix_velocity_per_hour() -> None:
    rig = Rig(LOOSE, prefix_sends_per_hour=3)
    results = [(await rig.send(phone(f"+44740012{i:04d}"))).allowed for i in range(5)]
    assert results == [True, True, True, False, False]
    assert (await rig.send(phone("+447400991234"))).allowed  # another prefix
    blocked = await rig.send(phone("+447400129999"))
    assert blocked.reasons[0] is GuardReason.PREFIX_VELOCITY
    assert blocked.retry_after is not None
    rig.clock.advance(blocked.retry_after)
    assert (await rig.send(phone("+447400129999"))).allowed


async def test_country_velocity_per_hour() -> None:
    rig = Rig(LOOSE, country_sends_per_hour=2)
    gb = [phone("+447400123456"), phone("+447400991234"), phone("+447400551234")]
    results = [(await rig.send(d)).allowed for d in gb]
    assert results == [True, True, False]
    assert (await rig.send(phone("+33612345678"))).allowed
    blocked = await rig.send(gb[0])
    assert blocked.reasons[0] is GuardReason.COUNTRY_VELOCITY


async def test_ip_velocity_per_hour_only_when_given() -> None:
    rig = Rig(LOOSE, ip_sends_per_hour=2)
    numbers = [phone(f"+3361234{i:04d}") for i in range(4)]
    results = [(await rig.send(d, ip="198.51.100.7")).allowed for d in numbers[:3]]
    assert results == [True, True, False]
    blocked = await rig.send(numbers[3], ip="198.51.100.7")
    assert blocked.reasons[0] is GuardReason.IP_VELOCITY
    assert (await rig.send(numbers[3], ip="198.51.100.8")).allowed
    assert (await rig.send(numbers[3])).allowed


async def test_tenant_budget_per_hour_and_per_day_set_per_tenant() -> None:
    budgets = {"big": TenantBudget(per_hour=100, per_day=1_000)}
    rig = Rig(LOOSE, tenant_sends_per_hour=2, tenant_sends_per_day=3, tenant_budgets=budgets)
    numbers = [phone(f"+3361234{i:04d}") for i in range(10)]
    hourly = [(await rig.send(d)).allowed for d in numbers[:2]]
    assert hourly == [True, True]
    refused = await rig.send(numbers[2])
    assert refused.reasons[0] is GuardReason.TENANT_HOURLY
    assert refused.retry_after is not None and refused.retry_after <= 3_600
    rig.clock.advance(refused.retry_after)
    # A refused send counts too (as in every fixed-window limiter here): that was the third.
    daily = await rig.send(numbers[3])
    assert daily.reasons[0] is GuardReason.TENANT_DAILY
    assert daily.retry_after is not None and daily.retry_after <= 86_400
    assert all([(await rig.send(d, tenant="big")).allowed for d in numbers])
    assert (await rig.send(numbers[0], tenant="other", environment=Environment.SANDBOX)).allowed


async def test_send_and_guess_cycling_stops_at_the_failure_budget() -> None:
    rig = Rig(LOOSE, failures_per_hour=10)
    victim = phone(MOBILE)
    guesses = sessions = 0
    for _ in range(20):  # new session, 4 wrong guesses, resume, new session, ...
        if not (await rig.send(victim)).allowed:
            break
        sessions += 1
        for _ in range(4):
            guesses += await rig.guess_wrong(victim)
            rig.clock.advance(3)
    assert guesses == 10
    assert sessions == 3
    refused = await rig.send(victim)
    assert refused.reasons[0] is GuardReason.LOCKED
    assert refused.retry_after is not None
    assert 3_500 < refused.retry_after <= rig.settings.failure_lockout_seconds


async def test_the_budget_spans_environments_separately_and_tenants_separately() -> None:
    rig = Rig(LOOSE, failures_per_hour=2)
    victim = phone(MOBILE)
    for _ in range(2):
        await rig.guess_wrong(victim)
    assert not (await rig.send(victim)).allowed
    assert (await rig.send(victim, tenant="t2")).allowed
    assert (await rig.send(victim, environment=Environment.SANDBOX)).allowed


async def test_after_a_lockout_no_open_session_may_guess() -> None:
    rig = Rig(LOOSE)
    victim = phone(MOBILE)
    subject = rig.subject(victim)
    now = rig.clock.now()
    assert (await rig.guard.check_guess(subject, now)).allowed
    await rig.guard.record_lockout(subject, now + 600)
    refused = await rig.guard.check_guess(subject, now)
    assert not refused.allowed and refused.retry_after == 600
    assert not await rig.guess_wrong(victim)
    assert not (await rig.send(victim)).allowed
    rig.clock.advance(600)
    assert await rig.guess_wrong(victim)


async def test_email_variants_count_as_one_destination() -> None:
    rig = Rig(LOOSE, failures_per_hour=4)
    variants = [
        "victim@example.com",
        "VICTIM@EXAMPLE.COM",
        "Victim@example.com",
        "victim+x@example.com",
    ]
    for raw in variants:
        assert await rig.guess_wrong(email(raw))
    for raw in [*variants, "\uff56ictim@example.com"]:
        assert not (await rig.send(email(raw))).allowed
        assert not await rig.guess_wrong(email(raw))
    gmail = Rig(LOOSE, failures_per_hour=2)
    await gmail.guess_wrong(email("victim@gmail.com"))
    await gmail.guess_wrong(email("vic.tim@gmail.com"))
    assert not (await gmail.send(email("v.i.c.t.i.m+y@googlemail.com"))).allowed


async def test_an_allow_entry_wins_over_blocks_and_number_type() -> None:
    rig = Rig(LOOSE)
    g = rig.guard
    number = phone(MOBILE)
    rig.lists.put("t1", g.list_entry(ListScope.COUNTRY, "gb"), ListVerdict.BLOCK)
    blocked = await rig.send(number)
    assert blocked.reasons == (GuardReason.BLOCK_LIST,) and blocked.retry_after is None
    rig.lists.put("t1", g.list_entry(ListScope.PREFIX, "+4474001"), ListVerdict.ALLOW)
    allowed = await rig.send(number)
    assert allowed.allowed and GuardReason.ALLOW_LIST in allowed.reasons
    assert not (await rig.send(phone("+447400991234"))).allowed  # GB, not under the allow
    assert (await rig.send(number, tenant="t2")).allowed  # lists are per tenant

    toll_free = example("GB", PhoneNumberType.TOLL_FREE)
    rig.lists.put("t1", g.list_entry(ListScope.DESTINATION, toll_free.value), ListVerdict.ALLOW)
    assert (await rig.send(toll_free)).allowed
    rig.lists.put("t1", g.list_entry(ListScope.PREFIX, "+1900"), ListVerdict.BLOCK)
    assert not (await rig.send(phone("+19002000000"))).allowed


async def test_a_block_entry_by_prefix_or_number() -> None:
    rig = Rig(LOOSE)
    rig.lists.put("t1", rig.guard.list_entry(ListScope.PREFIX, "+33 6 12"), ListVerdict.BLOCK)
    rig.lists.put(
        "t1", rig.guard.list_entry(ListScope.DESTINATION, "+4915123456789"), ListVerdict.BLOCK
    )
    assert not (await rig.send(phone("+33612345678"))).allowed
    assert (await rig.send(phone("+33687654321"))).allowed
    assert not (await rig.send(phone("+49 151 23456789"))).allowed


async def pump_until_paused(rig: Rig, stem: str = "+44740012") -> int:
    for i in range(1_000):
        decision = await rig.send(phone(f"{stem}{i:04d}"))
        rig.clock.advance(1)
        if not decision.allowed:
            assert decision.reasons[0] is GuardReason.PREFIX_CONVERSION
            return i
    raise AssertionError("never paused")


async def test_a_conversion_pause_lifts_by_itself_after_the_cooloff() -> None:
    rig = Rig(LOOSE, prefix_conversion_min_sends=20, conversion_cooloff_seconds=3_600)
    assert await pump_until_paused(rig) == 20
    paused_at = rig.clock.now() - 1
    rig.clock.advance(3_600 - 10)
    still = await rig.send(phone("+447400125555"))
    assert not still.allowed and still.retry_after == 9
    assert (await rig.send(phone("+447400995555"))).allowed  # other prefixes flow
    rig.clock.advance(paused_at + 3_600 - rig.clock.now())
    assert (await rig.send(phone("+447400125555"))).allowed


async def test_verified_sends_keep_a_prefix_open() -> None:
    rig = Rig(LOOSE, prefix_conversion_min_sends=20, conversion_threshold=0.5)
    for i in range(200):
        number = phone(f"+44740012{i:04d}")
        assert (await rig.send(number)).allowed, i
        if i % 3:  # two in three verified
            await rig.verify(number)
        rig.clock.advance(30)


async def test_an_operator_lifts_a_pause_and_a_lockout() -> None:
    rig = Rig(LOOSE, prefix_conversion_min_sends=20, failures_per_hour=1)
    await pump_until_paused(rig)
    now = rig.clock.now()
    await rig.guard.lift("t1", Environment.PRODUCTION, ListScope.PREFIX, "+44740012", now)
    assert (await rig.send(phone("+447400125555"))).allowed  # not re-paused at once
    victim = phone(MOBILE)
    await rig.guess_wrong(victim)
    assert not (await rig.send(victim)).allowed
    await rig.guard.lift("t1", Environment.PRODUCTION, ListScope.DESTINATION, MOBILE, now)
    assert (await rig.send(victim)).allowed


async def test_it_fails_open_when_its_store_raises() -> None:
    faulty = FaultyGuardStore()
    guard = Guard(GuardSettings(), faulty, faulty, faulty, fingerprint)
    rig = Rig()
    subject = rig.subject(phone(MOBILE), ip="198.51.100.7")
    now = rig.clock.now()
    for _ in range(50):
        decision = await guard.check_send(subject, now)
        assert decision.allowed and decision.failed_open
    assert (await guard.check_guess(subject, now)).failed_open
    assert (await guard.record_verification(subject, Outcome.WRONG, now)).failed_open
    assert (await guard.record_lockout(subject, now + 60)).failed_open
    premium = rig.subject(phone("+19002000000"))
    assert not (await guard.check_send(premium, now)).allowed  # needs no store
    assert faulty.calls > 0


async def test_it_fails_open_when_only_the_lists_raise() -> None:
    rig = Rig(LOOSE)
    guard = Guard(rig.settings, rig.store, rig.store, FaultyGuardStore(), fingerprint)
    decision = await guard.check_send(rig.subject(phone(MOBILE)), rig.clock.now())
    assert decision.allowed and decision.failed_open
    assert rig.store.counts  # the other signals still counted


async def test_switched_off_it_allows_everything_and_touches_nothing() -> None:
    faulty = FaultyGuardStore()
    guard = Guard(GuardSettings(enabled=False), faulty, faulty, faulty, fingerprint)
    subject = Rig().subject(phone("+19002000000"))
    assert (await guard.check_send(subject, 0.0)).reasons == ()
    assert (await guard.check_guess(subject, 0.0)).allowed
    assert faulty.calls == 0


async def test_no_destination_or_address_in_clear_in_its_keys() -> None:
    rig = Rig(LOOSE, failures_per_hour=1)
    await rig.send(phone(MOBILE), ip="198.51.100.7")
    await rig.guess_wrong(email("victim@example.com"))
    keys = [k for k, _, _ in rig.store.counts] + list(rig.store.deadlines)
    for secret in ("447400", "victim", "198.51"):
        assert not any(secret in key for key in keys), secret


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="two windows"):
        GuardSettings(conversion_window_seconds=3_600, conversion_cooloff_seconds=3_600)
    with pytest.raises(ValueError, match="between 0 and 1"):
        GuardSettings(conversion_threshold=1.5)
    with pytest.raises(ValueError, match="positive"):
        GuardSettings(failures_per_hour=0)
    assert GuardSettings().budget_for("anyone") == TenantBudget(1_000, 10_000)
    assert isinstance(InMemoryGuardLists(), InMemoryGuardLists)
