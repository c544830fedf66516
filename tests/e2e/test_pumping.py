"""SMS pumping against two ``otpgate serve`` processes on PostgreSQL and Redis.

Requests go to both processes from eight threads at once. One key sends to 500 numbers
of one prefix and verifies none: the prefix is paused after exactly the configured
number of sends (counted in the outbox, where every production message is kept here).
Another sends to 500 premium-rate numbers: nothing is sent. A third runs a sign-up mix
over many countries, most codes entered: nothing of it is refused.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from tests.e2e.test_scale_out import Cluster, boot, cluster_of

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

FLOOR = 20  # OTPGATE_GUARD_PREFIX_CONVERSION_MIN_SENDS
COUNTRIES = ["US"] * 8 + ["GB", "FR", "DE", "IN", "BR", "NG", "JP", "AU", "ES", "IT", "MX"]
COUNTRIES += ["PH", "KE", "ZA", "PL", "NL", "SE", "CA", "TR"]
MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)  # +1: either


class Keyed(Cluster):
    """The cluster with a key of one tenant, each thread keeping a connection per process
    (a new client per request would cost more than the request)."""

    local = threading.local()
    opened: list[httpx.Client] = []

    def request(self, i: int, method: str, path: str, **kwargs: Any) -> httpx.Response:
        clients = self.local.__dict__.setdefault("clients", {})
        url = self.url(i)
        if url not in clients:
            clients[url] = httpx.Client(base_url=url, timeout=30)
            self.opened.append(clients[url])
        headers = {"Authorization": f"Bearer {self.key}"}
        response: httpx.Response = clients[url].request(method, path, headers=headers, **kwargs)
        return response


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Cluster]]:
    """The cluster as each tenant's production key sees it: pump, premium, signup."""
    env = {
        # Velocity per prefix out of the way: the conversion pause is what must stop it.
        "OTPGATE_GUARD_PREFIX_SENDS_PER_HOUR": "100000",
        "OTPGATE_GUARD_PREFIX_CONVERSION_MIN_SENDS": str(FLOOR),
        # Low enough that the sign-up mix's busiest countries are judged too.
        "OTPGATE_GUARD_COUNTRY_CONVERSION_MIN_SENDS": "30",
        "OTPGATE_KEY_CACHE_SECONDS": "30",  # the keys exist before the first request
    }
    with cluster_of(tmp_path_factory.mktemp("pumping"), env) as found:
        boot([found])
        tenants = ["pump", "premium", "signup"]
        with ThreadPoolExecutor(max_workers=3) as pool:
            keys = list(pool.map(lambda t: key_of(found, t), tenants))
        yield {
            t: Keyed(found.servers, k, found.database_url)
            for t, k in zip(tenants, keys, strict=True)
        }
        for client in Keyed.opened:
            client.close()


def key_of(cluster: Cluster, tenant: str) -> str:
    out = cluster.servers[0].cli(
        "keys", "create", "--environment", "production", "--tenant", tenant
    )
    return out.strip().splitlines()[-1]


def in_parallel(n: int, call: Callable[[int], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(call, range(n)))


def kept(cluster: Cluster, tenant: str) -> int:
    rows = cluster.sql(
        "SELECT count(*) FROM outbox WHERE tenant_id = (SELECT id FROM tenants WHERE name = %s)",
        tenant,
    )
    return int(rows[0][0])


def mobile(rng: random.Random, region: str) -> str:
    """A valid mobile number of ``region``: its example mobile with random last digits."""
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    assert example is not None
    national = str(example.national_number)
    for _ in range(1000):
        candidate = national[:-6] + f"{rng.randrange(10**6):06d}"
        parsed = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.number_type(parsed) in MOBILE_TYPES:
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise AssertionError(f"no mobile number for {region}")


def test_pumping_one_prefix_is_paused_after_the_conversion_floor(
    clusters: dict[str, Cluster],
) -> None:
    pump = clusters["pump"]
    answers: list[httpx.Response] = in_parallel(500, lambda i: pump.start(i, f"+1415777{i:04d}"))
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == FLOOR and statuses.count(429) == 500 - FLOOR, statuses
    refused = [r for r in answers if r.status_code == 429]
    assert {r.json()["msg"] for r in refused} == {"the request was refused for risk"}
    assert all(0 < int(r.headers["Retry-After"]) <= 3600 for r in refused)
    assert kept(pump, "pump") == FLOOR  # what was actually sent
    paused = pump.sql(
        "SELECT environment, scope, value FROM guard_pauses"
        " WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'pump')"
    )
    assert paused == [("production", "prefix", "+1415777")]


def test_premium_rate_numbers_send_nothing(clusters: dict[str, Cluster]) -> None:
    premium = clusters["premium"]
    numbers = [f"+1900{2_000_000 + i * 1_337:07d}" for i in range(500)]
    answers = in_parallel(500, lambda i: premium.start(i, numbers[i]))
    assert {r.status_code for r in answers} == {403}
    assert kept(premium, "premium") == 0


def test_a_sign_up_mix_over_many_countries_is_never_refused(
    clusters: dict[str, Cluster],
) -> None:
    signup = clusters["signup"]
    rng = random.Random(5)
    people = [mobile(rng, rng.choice(COUNTRIES)) for _ in range(200)]
    enters = [rng.random() < 0.85 for _ in people]

    def sign_up(i: int) -> tuple[int, str | None]:
        started = signup.start(i, people[i])
        if started.status_code != 200 or not enters[i]:
            return started.status_code, None
        code = signup.code_for(i + 1, people[i])
        verified = signup.patch_code(i + 1, started.json()["eval_id"], code)
        return started.status_code, verified.json().get("decision")

    results = in_parallel(len(people), sign_up)
    assert {status for status, _ in results} == {200}, results
    decisions = [
        decision for (_, decision), entered in zip(results, enters, strict=True) if entered
    ]
    assert decisions == ["ACCEPT"] * sum(enters)
    assert kept(signup, "signup") == len(people)
