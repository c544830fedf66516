"""Workflow names: the operator's own ids for otpgate's workflows, and PATCH naming them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app

from .evalkit import code_body, patch, start, state


@pytest.fixture
async def aliased(settings: Settings, clock: FakeClock) -> AsyncIterator[Harness]:
    mine = settings.model_copy(
        update={"workflow_aliases": "your_otp_workflow=otp_verification, kyc=individual_onboarding"}
    )
    async with running_app(mine, clock=clock) as h:
        yield h


async def test_an_alias_runs_the_workflow_it_names_and_is_answered_under_its_own_name(
    aliased: Harness,
) -> None:
    async with aliased.client(aliased.sandbox_key) as client:
        ev = await start(client, workflow="your_otp_workflow")
        assert ev["workflow"] == "your_otp_workflow"
        assert state(ev) == ("ON_HOLD", "Pending OTP Code", "REVIEW")
        r = await patch(client, ev["eval_id"], code_body("123456", workflow="your_otp_workflow"))
        assert r.status_code == 200, r.text
        assert state(r.json()) == ("CLOSED", "Approve", "ACCEPT")
        assert r.json()["workflow"] == "your_otp_workflow"
        own = await start(client, workflow="otp_verification")
        assert r.json()["workflow_id"] == own["workflow_id"]


async def test_without_the_setting_an_unknown_workflow_is_refused(
    sandbox: httpx.AsyncClient,
) -> None:
    r = await sandbox.post(
        "/api/evaluation",
        json={"id": "x", "workflow": "your_otp_workflow", "data": {"individual": {}}},
    )
    assert r.status_code == 400 and r.json()["field"] == "workflow"


async def test_a_patch_naming_another_workflow_is_refused_naming_the_field(
    sandbox: httpx.AsyncClient,
) -> None:
    ev = await start(sandbox, workflow="otp_verification")
    r = await patch(
        sandbox, ev["eval_id"], code_body("123456", id="v1", workflow="individual_onboarding")
    )
    assert r.status_code == 400
    assert r.json()["field"] == "workflow" and "individual_onboarding" in r.json()["msg"]
    # Nothing was applied, and the id was not spent: the corrected request goes through.
    again = await patch(
        sandbox, ev["eval_id"], code_body("123456", id="v1", workflow="otp_verification")
    )
    assert again.status_code == 200 and again.json()["decision"] == "ACCEPT"


async def test_a_patch_may_name_the_workflow_by_an_alias_of_it(aliased: Harness) -> None:
    async with aliased.client(aliased.sandbox_key) as client:
        ev = await start(client, workflow="otp_verification")
        r = await patch(client, ev["eval_id"], code_body("123456", workflow="your_otp_workflow"))
        assert r.status_code == 200 and r.json()["workflow"] == "otp_verification"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("mine", "is not your_workflow_id=otpgate_workflow"),
        ("mine=nope", "unknown workflow 'nope'"),
        ("otp_verification=individual_onboarding", "already a workflow's name"),
    ],
)
def test_bad_aliases_fail_when_the_settings_load(raw: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(workflow_aliases=raw, _env_file=None)  # type: ignore[call-arg]
