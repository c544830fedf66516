"""Every evaluation answer validates against the published OpenAPI document's
``EvalResponseWithOutSocureData``, and its own example request is accepted.

The document lives beside the repository (``../shared/seeds/riskos-api-spec.json``, as in
CI); without it the tests skip on a laptop and fail under ``CI=true``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from otpgate.core.clock import FakeClock
from otpgate.testing.app import Harness
from tests.support.services import missing

from .evalkit import (
    MAGIC_FAIL,
    PHONE,
    PHONE_2,
    PII,
    code_body,
    details_body,
    patch,
    resend_body,
    resume_body,
    start,
    wrong,
)

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds" / "riskos-api-spec.json"
RESPONSE = "#/components/schemas/EvalResponseWithOutSocureData"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.is_file():
        missing(f"the published evaluation API document is not at {SPEC.resolve()}")
    return json.loads(SPEC.read_text("utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def validator(spec: dict[str, Any]) -> Draft202012Validator:
    # The document's components sit beside the reference, so "#/components/…" resolves.
    return Draft202012Validator(
        {"$ref": RESPONSE, "components": spec["components"]}, format_checker=FormatChecker()
    )


class Answers:
    def __init__(self, validator: Draft202012Validator) -> None:
        self.validator = validator
        self.count = 0

    def check(self, r: httpx.Response, *statuses: int) -> dict[str, Any]:
        assert r.status_code in statuses, r.text
        body: dict[str, Any] = r.json()
        errors = [f"{list(e.path)}: {e.message}" for e in self.validator.iter_errors(body)]
        assert not errors, (r.request.method, r.request.url.path, errors)
        self.count += 1
        return body


async def test_every_evaluation_answer_validates_against_the_published_schema(
    validator: Draft202012Validator,
    harness: Harness,
    sandbox: httpx.AsyncClient,
    live: httpx.AsyncClient,
    clock: FakeClock,
) -> None:
    a = Answers(validator)
    url = "/api/evaluation"
    # Held for a code, wrong code, resend, GET, right code.
    ev = a.check(await live.post(url, json=_start()), 200)
    code = await harness.last_code(PHONE)
    a.check(await patch(live, ev["eval_id"], code_body(wrong(code))), 400)
    a.check(await patch(live, ev["eval_id"], resend_body()), 200)
    a.check(await live.get(f"{url}/{ev['eval_id']}"), 200)
    done = a.check(await patch(live, ev["eval_id"], code_body(code)), 200)
    a.check(await patch(live, done["eval_id"], code_body(code)), 409)
    # Delivery failure, resume then a reviewer's decision, max attempts, expiry.
    a.check(await sandbox.post(url, json=_start(phone=MAGIC_FAIL)), 200)
    ev = await start(sandbox)
    a.check(await patch(sandbox, ev["eval_id"], resume_body()), 200)
    body = {"workflow": "otp_verification", "decision": "REJECT", "status": "CLOSED"}
    a.check(await sandbox.put(f"{url}/{ev['eval_id']}/state", json=body), 200)
    ev = await start(sandbox)
    for _ in range(5):
        last = a.check(await patch(sandbox, ev["eval_id"], code_body("000000")), 400)
    assert last["sub_status"] == "Max attempts reached"
    ev = await start(sandbox, phone=PHONE_2)  # PHONE is locked out now
    clock.advance(3600)
    a.check(await patch(sandbox, ev["eval_id"], code_body("123456")), 400)
    # The onboarding workflow: held for details, then decided.
    ev = await start(sandbox, phone="+14155550102", workflow="individual_onboarding")
    held = code_body("123456", workflow="individual_onboarding")
    a.check(await patch(sandbox, ev["eval_id"], held), 200)
    a.check(await patch(sandbox, ev["eval_id"], details_body(PII)), 200)
    assert a.count == 17


async def test_the_documents_example_request_is_accepted(
    spec: dict[str, Any], validator: Draft202012Validator, sandbox: httpx.AsyncClient
) -> None:
    example = copy.deepcopy(spec["components"]["examples"]["ConsumerOnboardingRequest"]["value"])
    example["workflow"] = "individual_onboarding"  # the document's is its own workflow id
    a = Answers(validator)
    ev = a.check(await sandbox.post("/api/evaluation", json=example), 200)
    assert (ev["status"], ev["sub_status"]) == ("ON_HOLD", "Pending OTP Code")
    verified = code_body("123456", workflow="individual_onboarding")
    done = a.check(await patch(sandbox, ev["eval_id"], verified), 200)
    assert done["status"] == "CLOSED"  # every detail was in the POST: the rules decided


def _start(phone: str = PHONE) -> dict[str, Any]:
    return {
        "id": f"schema-{phone}",
        "workflow": "otp_verification",
        "data": {"individual": {"phone_number": phone}},
    }
