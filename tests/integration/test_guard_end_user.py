"""Velocity per end user: ``data.ip_address`` on the evaluation API, the ``X-End-User-IP``
header on the other two. 30 sends an hour per address by default, whatever the numbers."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

from otpgate.testing.app import Harness
from tests.integration.sponsor_support import SPONSOR, set_up_sponsor
from tests.support import gateway as gw

IP = "203.0.113.7"


REGIONS = ("GB", "FR", "DE", "ES", "IT", "NL")


def number(i: int) -> str:
    """A valid mobile number of another range, spread over six countries (no other signal
    of the guard trips): the region's example mobile with its middle digits varied."""
    region = REGIONS[i % len(REGIONS)]
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    assert example is not None
    national = str(example.national_number)
    for step in range(1, 1000):
        middle = f"{(i * 7919 + step * 104729) % 10**4:04d}"
        candidate = national[:-8] + middle + national[-4:] if len(national) > 8 else national
        parsed = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.number_type(parsed) == PhoneNumberType.MOBILE:
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise AssertionError(f"no valid number for {region}")


def start(i: int, ip: str | None = IP) -> dict:
    data: dict = {"individual": {"phone_number": number(i)}}
    if ip is not None:
        data["ip_address"] = ip
    return {"id": f"ip-{ip}-{i}", "workflow": "otp_verification", "data": data}


async def test_the_evaluation_api_limits_sends_per_end_user_address(harness: Harness) -> None:
    async with harness.client(harness.sandbox_key) as c:
        answers = [await c.post("/api/evaluation", json=start(i)) for i in range(31)]
        assert [a.status_code for a in answers] == [200] * 30 + [429], answers[-1].text
        assert answers[-1].json()["msg"] == "the request was refused for risk"
        assert int(answers[-1].headers["Retry-After"]) >= 1
        other = await c.post("/api/evaluation", json=start(31, "203.0.113.8"))
        assert other.status_code == 200  # another address has its own allowance
        unknown = await c.post("/api/evaluation", json=start(32, None))
        assert unknown.status_code == 200  # no address: ignored


async def test_a_malformed_address_names_the_field(harness: Harness) -> None:
    async with harness.client(harness.sandbox_key) as c:
        r = await c.post("/api/evaluation", json=start(0, "not-an-ip"))
    assert r.status_code == 400 and r.json()["field"] == "data.ip_address", r.text


async def test_the_gateway_and_the_sponsor_api_take_the_header(harness: Harness) -> None:
    setup = await set_up_sponsor(harness, harness.sandbox_key)
    async with harness.client(harness.sandbox_key) as c:
        for i in range(20):
            r = await c.put(
                f"/v1/admin/sponsors/{SPONSOR}/beneficiaries/bnf_ip_{i}",
                json={"phone_number": number(100 + i)},
            )
            assert r.status_code == 200, r.text
    statuses = []
    async with harness.client() as c:
        for i in range(15):
            body = gw.initial(harness.sandbox_key, target__phone=number(200 + i))
            body["options"]["outofband"].pop("country", None)
            r = await c.post(
                "/process/comprehensive/gateway", json=body, headers={"X-End-User-IP": IP}
            )
            statuses.append(r.status_code)
    async with setup.client() as c:
        for i in range(20):
            r = await c.post(
                "/v1/otp/send",
                json={"beneficiary_id": f"bnf_ip_{i}", "sponsor_slug": SPONSOR, "channel": "SMS"},
                headers={"X-End-User-IP": IP},
            )
            statuses.append(r.status_code)
    # One address across both APIs: 30 sends, then refused.
    assert statuses == [200] * 30 + [429] * 5, statuses
    async with harness.client() as c:
        bad = await c.post(
            "/process/comprehensive/gateway",
            json=gw.initial(harness.sandbox_key),
            headers={"X-End-User-IP": "300.1.2.3"},
        )
    assert bad.json()["result"]["detail"] == "INVALID REQUEST", bad.text
