"""individual_onboarding: the OTP, then personal details, then the decision rules."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from otpgate.testing.app import Harness

from .evalkit import PHONE, PII, VOIP, code_body, details_body, patch, resume_body, start, state

ONBOARDING = "individual_onboarding"


async def _verified_onboarding(client: httpx.AsyncClient, **kwargs: Any) -> dict[str, Any]:
    ev = await start(client, workflow="individual_onboarding", **kwargs)
    r = await patch(client, ev["eval_id"], code_body("123456", workflow=ONBOARDING))
    assert r.status_code == 200, r.text
    return r.json()


async def test_correct_code_without_pii_asks_for_more_information(
    sandbox: httpx.AsyncClient,
) -> None:
    body = await _verified_onboarding(sandbox)
    assert state(body) == ("ON_HOLD", "More information needed", "REVIEW")
    assert body["tags"] == ["OTP Approved", "Prefill Unsuccessful"]
    assert body["eval_status"] == "evaluation_paused"
    assert body["workflow"] == "individual_onboarding"
    assert body["workflow_id"] == "2049b724-0461-4a4b-8526-6c26a0c1e88a"


async def test_pii_after_the_code_accepts(sandbox: httpx.AsyncClient) -> None:
    held = await _verified_onboarding(sandbox)
    r = await patch(sandbox, held["eval_id"], details_body(PII))
    assert r.status_code == 200
    body = r.json()
    assert state(body) == ("CLOSED", "Approve", "ACCEPT")
    assert body["eval_status"] == "evaluation_completed"
    got = (await sandbox.get(f"/api/evaluation/{held['eval_id']}")).json()
    assert state(got) == ("CLOSED", "Approve", "ACCEPT")


async def test_pii_can_arrive_in_two_parts(sandbox: httpx.AsyncClient) -> None:
    held = await _verified_onboarding(sandbox)
    first = {k: v for k, v in PII.items() if k != "address"}
    r = await patch(sandbox, held["eval_id"], details_body(first))
    assert state(r.json()) == ("ON_HOLD", "More information needed", "REVIEW")
    r = await patch(sandbox, held["eval_id"], details_body({"address": PII["address"]}))
    assert state(r.json()) == ("CLOSED", "Approve", "ACCEPT")


async def test_pii_given_with_the_post_decides_right_after_the_code(
    sandbox: httpx.AsyncClient,
) -> None:
    body = await _verified_onboarding(sandbox, **PII)
    assert state(body) == ("CLOSED", "Approve", "ACCEPT")


def _with(path: str, value: Any) -> dict[str, Any]:
    pii = copy.deepcopy(PII)
    target = pii
    *parents, leaf = path.split(".")
    for p in parents:
        target = target[p]
    target[leaf] = value
    return pii


@pytest.mark.parametrize(
    ("path", "value", "tag"),
    [
        ("given_name", "J4ne", "Invalid PII: given_name"),
        ("national_id", "000-00-0000", "Invalid PII: national_id"),
        ("date_of_birth", "2999-01-01", "Invalid PII: date_of_birth"),
        ("date_of_birth", "1990-02-30", "Invalid PII: date_of_birth"),
        ("address.postal_code", "ABCDE", "Invalid PII: address.postal_code"),
    ],
)
async def test_invalid_fields_reject_with_a_tag_naming_them(
    sandbox: httpx.AsyncClient, path: str, value: Any, tag: str
) -> None:
    held = await _verified_onboarding(sandbox)
    r = await patch(sandbox, held["eval_id"], details_body(_with(path, value)))
    assert r.status_code == 200
    body = r.json()
    assert state(body) == ("CLOSED", "Decline", "REJECT")
    assert tag in body["tags"]


async def test_underage_applicant_is_rejected(sandbox: httpx.AsyncClient) -> None:
    held = await _verified_onboarding(sandbox)
    r = await patch(sandbox, held["eval_id"], details_body(_with("date_of_birth", "2020-01-01")))
    assert r.json()["decision"] == "REJECT"
    assert "Applicant Under Minimum Age" in r.json()["tags"]


async def test_disposable_email_rejects(sandbox: httpx.AsyncClient) -> None:
    held = await _verified_onboarding(sandbox, email="jane@mailinator.com")
    r = await patch(sandbox, held["eval_id"], details_body(PII))
    body = r.json()
    assert state(body) == ("CLOSED", "Decline", "REJECT")
    assert "Disposable Email Domain" in body["tags"]


async def test_voip_line_goes_to_review(harness: Harness, sandbox: httpx.AsyncClient) -> None:
    held = await _verified_onboarding(sandbox, phone=VOIP)
    r = await patch(sandbox, held["eval_id"], details_body(PII))
    body = r.json()
    assert state(body) == ("CLOSED", "Under Review", "REVIEW")
    assert "Risky Phone Line Type: voip" in body["tags"]
    assert body["review_queues"] == ["Default Queue"]


async def test_mobile_line_with_clean_email_accepts_in_production(
    harness: Harness, live: httpx.AsyncClient
) -> None:
    ev = await start(live, workflow="individual_onboarding", email="jane@example.org", **PII)
    code = await harness.last_code(PHONE)
    r = await patch(live, ev["eval_id"], code_body(code, workflow=ONBOARDING))
    assert state(r.json()) == ("CLOSED", "Approve", "ACCEPT")
    assert "PII Verified" in r.json()["tags"]


async def test_details_before_the_code_are_refused(sandbox: httpx.AsyncClient) -> None:
    ev = await start(sandbox, workflow="individual_onboarding")
    r = await patch(sandbox, ev["eval_id"], details_body(PII))
    assert r.status_code == 409
    assert state(r.json()) == ("ON_HOLD", "Pending OTP Code", "REVIEW")


async def test_resume_while_waiting_for_details_closes_for_review(
    sandbox: httpx.AsyncClient,
) -> None:
    held = await _verified_onboarding(sandbox)
    r = await patch(sandbox, held["eval_id"], resume_body())
    assert r.status_code == 200
    assert r.json()["status"] == "CLOSED" and r.json()["decision"] == "REVIEW"
