"""Simulated runs through the core: pumping one prefix, pumping premium-rate numbers, a
real sign-up day. Each send is a start as the APIs make it (its own units of work)."""

from __future__ import annotations

import heapq
import random

from otpgate.core.errors import PausedForRisk, RefusedForRisk
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.model import Channel, Destination, DestinationKind, Environment, Policy
from otpgate.core.service import StartRequest

from .conftest import Core
from .test_service import wrong

ROOMY = Policy(send_limit_per_minute=1000)


def mobile(number: str, country: str = "GB", calling_code: str = "44") -> Destination:
    return Destination(DestinationKind.PHONE, number, country, "mobile", calling_code)


async def pump(core: Core, numbers: list[Destination]) -> list[type[Exception] | None]:
    """Send to every number, two seconds apart, verifying none; each refusal's type."""
    found: list[type[Exception] | None] = []
    for destination in numbers:
        try:
            await core.service.start(core.request(destination))
            found.append(None)
        except (PausedForRisk, RefusedForRisk) as exc:
            found.append(type(exc))
        core.clock.advance(2)
    return found


async def test_pumping_one_prefix_is_paused_after_its_conversion_floor() -> None:
    core = Core(ROOMY, GuardSettings(prefix_sends_per_hour=10_000))
    answers = await pump(core, [mobile(f"+44740012{i:04d}") for i in range(500)])
    assert answers == [None] * 20 + [PausedForRisk] * 480
    assert len(core.courier.messages) == GuardSettings().prefix_conversion_min_sends


async def test_pumping_one_prefix_with_every_default_on() -> None:
    core = Core(ROOMY)
    answers = await pump(core, [mobile(f"+44740013{i:04d}") for i in range(500)])
    assert answers.count(None) <= GuardSettings().prefix_conversion_min_sends
    assert set(answers[20:]) == {PausedForRisk}


async def test_pumping_spread_over_a_country_is_paused_by_country_conversion() -> None:
    core = Core(ROOMY, GuardSettings(prefix_sends_per_hour=10_000))
    rng = random.Random(7)
    numbers = [mobile(f"+4474{rng.randrange(10**8):08d}") for _ in range(500)]
    answers = await pump(core, numbers)
    assert answers.count(None) <= GuardSettings().country_conversion_min_sends
    paused = [e for e in core.store.events if e.action == "guard.paused"]
    assert [(e.subject_type, e.subject_id) for e in paused] == [("country", "GB")]


async def test_premium_rate_numbers_send_nothing() -> None:
    core = Core(ROOMY)
    numbers = [
        Destination(
            DestinationKind.PHONE, f"+1900{2_000_000 + i * 1_337:07d}", "US", "premium_rate", "1"
        )
        for i in range(500)
    ]
    assert await pump(core, numbers) == [RefusedForRisk] * 500  # for good: no Retry-After
    assert core.courier.messages == [] and core.store.sessions == {}


# A day of a real sign-up flow: mobiles across many countries, a heavy home market,
# emails, resends, typos, people behind shared addresses; most codes are entered after
# a delay of 15 s to 3 min. Nothing of it may be blocked under the defaults.
MOBILES = {
    "US": ("+1", 11), "GB": ("+447", 12), "FR": ("+336", 11), "DE": ("+4915", 13),
    "IN": ("+918", 12), "BR": ("+5511", 13), "NG": ("+2348", 13), "JP": ("+819", 12),
    "AU": ("+614", 11), "ES": ("+346", 11), "IT": ("+393", 12), "MX": ("+52", 12),
    "PH": ("+639", 12), "KE": ("+2547", 12), "ZA": ("+277", 11), "PL": ("+485", 11),
    "NL": ("+316", 11), "SE": ("+467", 11), "CA": ("+1", 11), "TR": ("+905", 12),
}  # fmt: skip
CALLING = {"US": "1", "CA": "1", "GB": "44", "FR": "33", "DE": "49", "IN": "91", "BR": "55",
           "NG": "234", "JP": "81", "AU": "61", "ES": "34", "IT": "39", "MX": "52", "PH": "63",
           "KE": "254", "ZA": "27", "PL": "48", "NL": "31", "SE": "46", "TR": "90"}  # fmt: skip


def signup_destination(rng: random.Random) -> Destination:
    if rng.random() < 0.25:
        return Destination(DestinationKind.EMAIL, f"user{rng.randrange(10**9)}@example.com")
    country = "US" if rng.random() < 0.4 else rng.choice(sorted(MOBILES))
    start, digits = MOBILES[country]
    number = start + "".join(str(rng.randrange(10)) for _ in range(digits - len(start) + 1))
    return mobile(number, country, CALLING[country])


async def test_a_realistic_signup_day_is_never_blocked() -> None:
    core = Core()
    rng = random.Random(12)
    users, hours = 1_500, 6  # about 250 an hour, a peak of about 375 included
    start = core.clock.now()
    events: list[tuple[float, int, str]] = []
    people: dict[int, tuple[Destination, str]] = {}
    for i in range(users):
        at = start + rng.betavariate(2, 2) * hours * 3600  # the busy part of a day
        ip = "100.64.0.1" if rng.random() < 0.02 else f"203.0.{rng.randrange(256)}.{i % 250}"
        people[i] = (signup_destination(rng), ip)
        heapq.heappush(events, (at, i, "send"))
        delay = rng.uniform(15, 180)
        if rng.random() < 0.1 and delay > 45:  # a resend before entering the code
            heapq.heappush(events, (at + 40, i, "resend"))
        if rng.random() < 0.85:
            if rng.random() < 0.1:  # one typo first
                heapq.heappush(events, (at + delay - 5, i, "wrong"))
            heapq.heappush(events, (at + delay, i, "verify"))
    sessions: dict[int, tuple[str, str]] = {}
    while events:
        at, i, kind = heapq.heappop(events)
        core.clock.advance(max(0.0, at - core.clock.now()))
        destination, ip = people[i]
        if kind == "send":
            phone = destination.kind is DestinationKind.PHONE
            request = StartRequest(
                tenant_id="t1",
                environment=Environment.PRODUCTION,
                channel=Channel.SMS if phone else Channel.EMAIL,
                destination=destination,
                ip_address=ip,
            )
            sent = await core.service.start(request)
            sessions[i] = (sent.session.id, core.courier.last_code())
            continue
        session_id, code = sessions[i]
        if kind == "resend":
            assert (await core.service.resend("t1", session_id)).delivered
        elif kind == "wrong":
            assert not (await core.service.verify("t1", session_id, wrong(code))).ok
        else:
            assert (await core.service.verify("t1", session_id, code)).ok
    assert len(sessions) == users
    assert not [e for e in core.store.events if e.action in ("send.refused", "guard.paused")]
