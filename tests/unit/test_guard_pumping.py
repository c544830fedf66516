"""Simulated runs: pumping one prefix, pumping premium-rate numbers, a real sign-up day."""

from __future__ import annotations

import heapq
import random

from otpgate.core.guard import GuardReason
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.model import Destination, DestinationKind
from tests.unit.guard_rig import LOOSE, Rig, phone


def one_prefix(n: int) -> list[Destination]:
    return [phone(f"+44740012{i:04d}") for i in range(n)]


async def test_pumping_one_prefix_is_paused_by_conversion() -> None:
    rig = Rig(LOOSE, prefix_conversion_min_sends=20)
    sent = 0
    for destination in one_prefix(500):
        if (await rig.send(destination)).allowed:
            sent += 1
        rig.clock.advance(2)
    assert sent <= 20
    last = await rig.send(phone("+447400129999"))
    assert not last.allowed
    assert last.reasons[0] is GuardReason.PREFIX_CONVERSION
    assert last.retry_after is not None and 0 < last.retry_after <= 3_600


async def test_pumping_one_prefix_with_every_default_on() -> None:
    rig = Rig()
    results = []
    for destination in one_prefix(500):
        results.append(await rig.send(destination))
        rig.clock.advance(2)
    sent = sum(r.allowed for r in results)
    assert sent <= GuardSettings().prefix_conversion_min_sends
    assert all(r.retry_after for r in results if not r.allowed)


async def test_pumping_spread_over_a_country_is_paused_by_country_conversion() -> None:
    rig = Rig(LOOSE, country_conversion_min_sends=100)
    rng = random.Random(7)
    sent = 0
    for _ in range(500):
        number = Destination(
            DestinationKind.PHONE, f"+4474{rng.randrange(10**8):08d}", "GB", "mobile", "44"
        )
        if (await rig.send(number)).allowed:
            sent += 1
        rig.clock.advance(1)
    assert sent <= 100
    blocked = await rig.send(phone("+447400123456"))
    assert blocked.reasons[0] is GuardReason.COUNTRY_CONVERSION


async def test_premium_rate_numbers_send_nothing() -> None:
    rig = Rig()
    decisions = []
    for i in range(500):
        destination = phone(f"+1900{2_000_000 + i * 1_337:07d}")
        assert destination.line_type == "premium_rate"
        decisions.append(await rig.send(destination))
    assert not any(d.allowed for d in decisions)
    assert {d.reasons[0] for d in decisions} == {GuardReason.NUMBER_TYPE}
    assert all(d.retry_after is None for d in decisions)  # permanent: no point retrying


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
    return Destination(DestinationKind.PHONE, number, country, "mobile", CALLING[country])


async def test_a_realistic_signup_day_is_never_blocked() -> None:
    rig = Rig()
    rng = random.Random(12)
    users = 6_000  # over 24 h: about 250 an hour, peaks included
    start = rig.clock.now()
    events: list[tuple[float, int, str, Destination, str]] = []
    for i in range(users):
        at = start + rng.betavariate(2, 2) * 86_400  # a daily peak
        destination = signup_destination(rng)
        ip = "100.64.0.1" if rng.random() < 0.02 else f"203.0.{rng.randrange(256)}.{i % 250}"
        heapq.heappush(events, (at, i, "send", destination, ip))
        if rng.random() < 0.1:  # a resend before entering the code
            heapq.heappush(events, (at + 40, i, "send", destination, ip))
        if rng.random() < 0.85:
            delay = rng.uniform(15, 180)
            if rng.random() < 0.1:  # one typo first
                heapq.heappush(events, (at + delay - 5, i, "wrong", destination, ip))
            heapq.heappush(events, (at + delay, i, "verify", destination, ip))
    blocked = []
    sends = 0
    while events:
        at, _, kind, destination, ip = heapq.heappop(events)
        rig.clock.advance(max(0.0, at - rig.clock.now()))
        if kind == "send":
            sends += 1
            decision = await rig.send(destination, ip=ip)
            if not decision.allowed:
                blocked.append((destination, decision))
        elif kind == "wrong":
            assert await rig.guess_wrong(destination, ip=ip)
        else:
            await rig.verify(destination, ip=ip)
    assert sends > users
    assert blocked == []
