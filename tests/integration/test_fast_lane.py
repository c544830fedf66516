"""The hot calls on the fast lane (``web/fastlane.py``) answer exactly as
FastAPI's routes do, take the lane when they can, and leave it whenever FastAPI must word
the answer.

Two apps run side by side: one as shipped, one with the fast lane taken out of its
middleware, every request sent to both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fastapi.routing
import httpx
import pytest

from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from otpgate.web.fastlane import FastLane
from tests.integration.sponsor_support import set_up_sponsor
from tests.support.gateway import cont, start

UNKNOWN = "6f1c2b1e-0000-4000-8000-000000000000"
PHONE = "+14155550100"
HEADERS = {"X-API-Version": "2024-01"}


def _settings(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Harness, Harness]]:
    async with (
        running_app(_settings(tmp_path / "fast.db")) as fast,
        running_app(_settings(tmp_path / "plain.db")) as plain,
    ):
        before = len(plain.app.user_middleware)
        plain.app.user_middleware[:] = [
            m for m in plain.app.user_middleware if m.cls is not FastLane
        ]
        assert len(plain.app.user_middleware) == before - 1  # built on the first call
        yield fast, plain


async def _both(
    pair: tuple[Harness, Harness], method: str, path: str, key: str | None = "sandbox", **kw: Any
) -> tuple[httpx.Response, httpx.Response]:
    answers = []
    for h in pair:
        token = {"sandbox": h.sandbox_key, "bad": "og_sandbox_nope", None: None}[key]
        async with h.client(token, **HEADERS) as c:
            answers.append(await c.request(method, path, **kw))
    return answers[0], answers[1]


def _same(fast: httpx.Response, plain: httpx.Response) -> None:
    assert fast.status_code == plain.status_code, (fast.text, plain.text)
    assert fast.json() == plain.json()
    for header in ("content-type", "x-api-version"):
        assert fast.headers.get(header) == plain.headers.get(header), header


def _patch(code: str = "123456", rid: str = "p-1") -> dict[str, Any]:
    return {"id": rid, "data": {"individual": {"otp": {"code": code}}}}


START = {
    "id": "s-1",
    "workflow": "otp_verification",
    "data": {"individual": {"phone_number": PHONE}},
}

REFUSALS = [
    ("PATCH", f"/api/evaluation/{UNKNOWN}", "sandbox", {"json": _patch()}),
    ("PATCH", "/api/evaluation/not-a-uuid", "sandbox", {"json": _patch()}),
    ("PATCH", f"/api/evaluation/{UNKNOWN}", None, {"json": _patch()}),
    ("PATCH", f"/api/evaluation/{UNKNOWN}", "bad", {"json": _patch()}),
    ("PATCH", f"/api/evaluation/{UNKNOWN}", "sandbox", {"content": b"{not json"}),
    ("PATCH", f"/api/evaluation/{UNKNOWN}", "sandbox", {"json": {"data": {}}}),
    ("PATCH", f"/api/evaluation/{UNKNOWN}", "sandbox", {"json": _patch(code="1" * 30)}),
    ("PATCH", f"/api/evaluation/{UNKNOWN}", "sandbox", {"content": b"", "headers": {}}),
    (
        "PATCH",
        f"/api/evaluation/{UNKNOWN}",
        "sandbox",
        {"content": b'{"id": "x"}', "headers": {"content-type": "text/plain"}},
    ),
    ("PATCH", f"/api/evaluation/{UNKNOWN}", None, {"content": b"[" * 5000}),
    ("GET", f"/api/evaluation/{UNKNOWN}", "sandbox", {}),
    ("GET", f"/api/evaluation/{UNKNOWN}", None, {}),
    ("GET", "/api/evaluation/not-a-uuid", "bad", {}),
    ("POST", "/api/evaluation", "sandbox", {"json": {**START, "workflow": "no_such_flow"}}),
    ("POST", "/api/evaluation", "sandbox", {"json": {**START, "workflow": ""}}),
    (
        "POST",
        "/api/evaluation",
        "sandbox",
        {"json": {**START, "data": {"individual": {"phone_number": "not a phone"}}}},
    ),
    ("POST", "/api/evaluation", None, {"json": START}),
    ("POST", "/api/evaluation", "sandbox", {"content": b'{"id": 1}'}),
]


@pytest.mark.parametrize(("method", "path", "key", "kw"), REFUSALS)
async def test_refusals_are_the_routes_own(pair, method, path, key, kw) -> None:
    fast, plain = await _both(pair, method, path, key, **kw)
    assert 400 <= fast.status_code < 500
    _same(fast, plain)


async def test_a_whole_verification_answers_alike(pair) -> None:
    fast, plain = await _both(pair, "POST", "/api/evaluation", json=START)
    assert fast.status_code == plain.status_code == 200
    ids = fast.json()["eval_id"], plain.json()["eval_id"]

    def comparable(body: dict[str, Any]) -> dict[str, Any]:
        volatile = ("eval_id", "eval_start_time", "decision_at", "expires_at", "eval_end_time")
        out = {k: v for k, v in body.items() if k not in volatile}
        out["data_enrichments"] = [
            {k: v for k, v in e.items() if k not in ("response", "request")}
            for e in body["data_enrichments"]
        ]
        return out

    assert comparable(fast.json()) == comparable(plain.json())
    steps = [
        ("PATCH", _patch("000000", "w-1")),  # the sandbox refuses 000000: a wrong code
        ("PATCH", _patch("000000", "w-1")),  # the same request id: the stored answer
        ("GET", None),
        ("PATCH", _patch("123456", "r-1")),
        ("GET", None),
    ]
    for method, body in steps:
        answers = []
        for h, eval_id in zip(pair, ids, strict=True):
            async with h.client(h.sandbox_key, **HEADERS) as c:
                answers.append(await c.request(method, f"/api/evaluation/{eval_id}", json=body))
        f, p = answers
        assert f.status_code == p.status_code, (method, f.text, p.text)
        assert comparable(f.json()) == comparable(p.json()), method
        assert f.headers["x-api-version"] == p.headers["x-api-version"]
    assert f.json()["status"] == "CLOSED"


def _count_solved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths FastAPI solves a route's dependencies for from now on (every request that
    goes through a FastAPI route; none that the fast lane answers)."""
    solved: list[str] = []
    original = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs["request"].url.path)
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    return solved


async def test_hot_calls_skip_fastapi_and_refusals_go_through_it(pair, monkeypatch) -> None:
    fast, _plain = pair
    solved = _count_solved(monkeypatch)
    async with fast.client(fast.sandbox_key) as c:
        started = await c.post("/api/evaluation", json=START)
        eval_id = started.json()["eval_id"]
        await c.patch(f"/api/evaluation/{eval_id}", json=_patch("000000", "w-1"))
        await c.get(f"/api/evaluation/{eval_id}")
        assert solved == []
        refused = await c.patch(f"/api/evaluation/{eval_id}", json={"data": {}})
        assert refused.status_code == 400
        assert solved == [f"/api/evaluation/{eval_id}"]


async def test_the_gateway_and_sponsor_calls_take_the_lane_too(pair, monkeypatch) -> None:
    fast, _plain = pair
    sponsor = await set_up_sponsor(fast, fast.sandbox_key)  # admin calls: FastAPI routes
    solved = _count_solved(monkeypatch)
    async with fast.client() as c:
        token = await start(c, fast.sandbox_key)
        checked = await cont(c, token, "000000")
    assert checked.status_code == 200
    sent = await sponsor.send()
    assert sent.status_code == 200, sent.text
    wrong = await sponsor.validate(sent.json()["otp_id"], "000000")  # refused in the sandbox
    assert wrong.status_code == 422, wrong.text
    assert solved == []


async def test_hot_calls_are_named_by_their_route_in_metrics(pair) -> None:
    fast, _plain = pair
    async with fast.client(fast.sandbox_key) as c:
        await c.get(f"/api/evaluation/{UNKNOWN}")
        await c.post("/api/evaluation", json=START)
        text = (await c.get("/metrics")).text
    assert 'method="GET",route="/api/evaluation/{eval_id}"' in text
    assert 'method="POST",route="/api/evaluation"' in text
