"""Property: whatever the body, the evaluation API never answers 5xx, and every
refusal is a JSON object with a ``msg``.

Hypothesis drives the two write endpoints with arbitrary JSON and with the real
request shapes whose fields are swapped for arbitrary values. Bounded: a few
hundred requests, a few seconds.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.support.guard import GUARD_OUT_OF_THE_WAY

from .evalkit import PII, start_body

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["+14155550100", "+11234567890", "jane@example.com", "123456", "000000", "sms", "voice"]
    )
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    return out


def _replace(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


POST_TEMPLATE = start_body(
    id="fuzz", email="jane@example.com", workflow="individual_onboarding", channel="sms", **PII
)
PATCH_TEMPLATE = {
    "id": "p",
    "timestamp": "2025-09-30T10:07:00Z",
    "workflow": "individual_onboarding",
    "actions": {"resume": False},
    "data": {"individual": {"otp": {"code": "123456", "resend": False}, **PII}},
}


def mutated(template: dict[str, Any]) -> st.SearchStrategy[Any]:
    paths = _paths(template)
    return st.one_of(
        json_values,
        st.builds(_replace, st.just(template), st.sampled_from(paths), json_values),
    )


class Driver:
    """The app on a real SQLite database, driven from synchronous Hypothesis examples."""

    def __init__(self, cfg: Settings) -> None:
        self.runner = asyncio.Runner()
        self.cm = running_app(cfg, clock=FakeClock())
        self.harness: Harness = self.runner.run(self.cm.__aenter__())
        self.client = self.harness.client(self.harness.sandbox_key)

    def send(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        async def go() -> tuple[int, Any]:
            r = await self.client.request(method, url, json=body)
            return r.status_code, r.json()

        return self.runner.run(go())

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.run(self.cm.__aexit__(None, None, None))
        self.runner.close()


def _check(status: int, payload: Any) -> None:
    assert status < 500, payload
    if status >= 400:
        assert isinstance(payload, dict) and isinstance(payload.get("msg"), str), payload


def test_post_never_answers_5xx(settings: Settings) -> None:
    driver = Driver(settings)
    try:

        @FUZZ
        @given(body=mutated(POST_TEMPLATE))
        def run(body: Any) -> None:
            _check(*driver.send("POST", "/api/evaluation", body))

        run()
    finally:
        driver.close()


def test_patch_never_answers_5xx(settings: Settings) -> None:
    # Starts by the hundred to one number range: the limits and the guard's velocity are
    # not what this is about.
    roomy = settings.model_copy(update={"send_limit_per_minute": 10_000, **GUARD_OUT_OF_THE_WAY})
    driver = Driver(roomy)
    counter = iter(range(10**9))

    def evaluation_in(stage: str) -> str:
        n = next(counter)
        body = start_body(id=f"start-{n}", workflow="individual_onboarding")
        status, ev = driver.send("POST", "/api/evaluation", body)
        assert status == 200, ev
        url = f"/api/evaluation/{ev['eval_id']}"
        if stage != "pending":
            code = {"id": f"code-{n}", "data": {"individual": {"otp": {"code": "123456"}}}}
            assert driver.send("PATCH", url, code)[0] == 200
        if stage == "closed":
            assert (
                driver.send("PATCH", url, {"id": f"r-{n}", "actions": {"resume": True}})[0] == 200
            )
        return url

    try:

        @FUZZ.__class__(FUZZ, max_examples=75)
        @given(
            body=mutated(PATCH_TEMPLATE),
            stage=st.sampled_from(["pending", "details", "closed"]),
            fresh_id=st.booleans(),
        )
        def run(body: Any, stage: str, fresh_id: bool) -> None:
            url = evaluation_in(stage)
            if fresh_id and isinstance(body, dict):
                body = {**body, "id": f"fuzz-{next(counter)}"}
            _check(*driver.send("PATCH", url, body))

        run()
    finally:
        driver.close()
