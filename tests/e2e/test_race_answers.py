"""Answers that stay true under concurrency, on two processes sharing PostgreSQL + Redis.

For each API, many requests race on one verification from both processes at once.
Exactly the guesses that were compared are told the code was wrong (the last of them
that the verification is now closed); every other request gets the answer it would have
got arriving alone afterwards, with the state as it now stands, never an older one.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .test_scale_out import Cluster, all_at_once, boot, cluster_of, new_phone

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("races")
    with cluster_of(tmp, {"OTPGATE_VERIFY_LIMIT_PER_MINUTE": "1000"}) as c:
        boot([c])
        yield c


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_evaluation_wrong_codes_only_the_compared_ones_are_invalid(cluster: Cluster) -> None:
    phone = new_phone()
    eval_id = cluster.start(0, phone).json()["eval_id"]
    bad = _wrong(cluster.code_for(0, phone))

    answers = all_at_once(24, lambda i: cluster.patch_code(i, eval_id, bad))

    invalid = [r.json() for r in answers if r.json().get("msg") == "Invalid code"]
    assert len(invalid) == 5, [r.text for r in answers]
    assert sorted(b["attempts_remaining"] for b in invalid) == [0, 1, 2, 3, 4]
    states = Counter((b["status"], b["sub_status"]) for b in invalid)
    assert states == {("ON_HOLD", "Pending OTP Code"): 4, ("CLOSED", "Max attempts reached"): 1}
    others = [r for r in answers if r.json().get("msg") != "Invalid code"]
    assert {r.status_code for r in others} == {409}
    # The evaluation as it stands after the race, not as it stood before it.
    assert {(r.json()["status"], r.json()["sub_status"]) for r in others} == {
        ("CLOSED", "Max attempts reached")
    }


def test_evaluation_right_codes_one_success_and_the_rest_see_it(cluster: Cluster) -> None:
    phone = new_phone()
    eval_id = cluster.start(0, phone).json()["eval_id"]
    code = cluster.code_for(1, phone)

    answers = all_at_once(12, lambda i: cluster.patch_code(i, eval_id, code))

    assert sorted(r.status_code for r in answers) == [200] + [409] * 11, [r.text for r in answers]
    assert {(r.json()["status"], r.json()["decision"]) for r in answers} == {("CLOSED", "ACCEPT")}


def _gateway(cluster: Cluster, i: int, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(cluster.url(i) + path, json=body, timeout=30)


def _gateway_start(cluster: Cluster) -> tuple[str, str]:
    phone = new_phone()
    body = {
        "user": "acme",
        "pass": cluster.key,
        "service": "PhoneMatch5.0.SMS",
        "reference": "race",
        "target": {"phone": phone},
    }
    r = _gateway(cluster, 0, "/process/comprehensive/gateway", body)
    assert r.json()["result"]["action"] == "PENDING", r.text
    return r.json()["continuations"]["outofband"]["template"]["token"], phone


def _gateway_check(cluster: Cluster, i: int, token: str, key: str) -> httpx.Response:
    body = {"user": "acme", "pass": cluster.key, "token": token, "codematch": {"key": key}}
    return _gateway(cluster, i, "/process/continue", body)


def test_gateway_races_answer_as_if_each_came_alone(cluster: Cluster) -> None:
    token, phone = _gateway_start(cluster)
    bad = _wrong(cluster.code_for(1, phone))
    answers = all_at_once(12, lambda i: _gateway_check(cluster, i, token, bad))
    compared = [r.json() for r in answers if r.status_code == 200]
    assert len(compared) == 5, [r.text for r in answers]
    assert all(b["result"]["action"] == "FAIL" for b in compared)
    assert {r.status_code for r in answers if r.status_code != 200} == {404}

    token, phone = _gateway_start(cluster)
    code = cluster.code_for(0, phone)
    answers = all_at_once(8, lambda i: _gateway_check(cluster, i, token, code))
    passed = [r for r in answers if r.status_code == 200]
    assert [r.json()["result"]["action"] for r in passed] == ["PASS"], [r.text for r in answers]
    assert sorted(r.status_code for r in answers) == [200] + [404] * 7


def _sponsor_setup(cluster: Cluster) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {cluster.key}"}
    base = cluster.url(0)
    slug = f"race-{uuid.uuid4().hex[:8]}"
    r = httpx.put(
        f"{base}/v1/admin/sponsors/{slug}",
        headers=headers,
        json={"name": "Race Health", "channels": ["SMS"], "otp_operations": {"rx": ["fill"]}},
    )
    assert r.status_code == 200, r.text
    phone = new_phone()
    r = httpx.put(
        f"{base}/v1/admin/sponsors/{slug}/beneficiaries/bnf_race",
        headers=headers,
        json={"phone_number": phone},
    )
    assert r.status_code == 200, r.text
    client_id = httpx.get(f"{base}/v1/admin/oauth-client", headers=headers).json()["client_id"]
    token = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": cluster.key,
        },
    ).json()["access_token"]
    return {"slug": slug, "phone": phone, "token": token}


def _sponsor(cluster: Cluster, i: int, path: str, s: dict[str, str], body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {s['token']}"}
    return httpx.post(cluster.url(i) + path, headers=headers, json=body, timeout=30)


def test_sponsor_races_answer_as_if_each_came_alone(cluster: Cluster) -> None:
    s = _sponsor_setup(cluster)
    send = {"beneficiary_id": "bnf_race", "sponsor_slug": s["slug"], "channel": "SMS"}
    otp_id = _sponsor(cluster, 0, "/v1/otp/send", s, send).json()["otp_id"]
    bad = _wrong(cluster.code_for(1, s["phone"]))
    answers = all_at_once(
        10,
        lambda i: _sponsor(cluster, i, "/v1/otp/validate", s, {"otp_id": otp_id, "code": bad}),
    )
    codes = Counter(r.json()["error_code"] for r in answers)
    assert codes == {"071-206": 3, "071-205": 7}, [r.text for r in answers]
