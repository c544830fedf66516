"""The shared web layer: the error table's MRO walk, the validation mapper, the route class.

A throwaway API on a bare FastAPI app, so that each mechanism is seen on its own; the
integration tests check each real API's answers through the same code.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from otpgate.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OtpError,
    PausedForRisk,
    RateLimited,
    RefusedForRisk,
    Unauthorized,
)
from otpgate.core.model import Environment, Principal, Tenant
from otpgate.flows.sponsor.errors import AlreadyValidated
from otpgate.web.errors import HOUSE, ErrorAnswer, ErrorTable, house_render, house_response
from otpgate.web.routing import WebApi, authenticated, principal_of
from otpgate.web.validation import Problem, ProblemKind, problem_of
from otpgate.web.wire import WireModel

# -- the error table ---------------------------------------------------------


def test_an_error_the_table_does_not_name_is_answered_as_its_nearest_ancestor() -> None:
    table = ErrorTable(
        {Forbidden: ErrorAnswer(403, "no"), PausedForRisk: ErrorAnswer(503, "later")},
        default=ErrorAnswer(400, "bad"),
    )
    assert table.answer(RefusedForRisk("refused")) == ErrorAnswer(403, "no")
    assert table.answer(PausedForRisk("paused", 30)) == ErrorAnswer(503, "later")
    assert table.answer(RateLimited("slow down", 30)) == ErrorAnswer(400, "bad")
    assert table.answer(OtpError("anything")) == ErrorAnswer(400, "bad")


def test_the_house_table_answers_the_core_and_flow_errors() -> None:
    cases: list[tuple[OtpError, int]] = [
        (InvalidInput("f", "bad"), 400),
        (Unauthorized("who"), 401),
        (RefusedForRisk("no"), 403),
        (NotFound("gone"), 404),
        (AlreadyValidated("twice"), 409),
        (PausedForRisk("later", 5), 429),
        (OtpError("other"), 400),
    ]
    assert [HOUSE.answer(exc).status for exc, _ in cases] == [status for _, status in cases]


def test_the_house_body_names_the_field_the_wait_and_the_scheme() -> None:
    bad = house_response(InvalidInput("data.email", "no"), ErrorAnswer(400), {"id": "x"})
    assert json.loads(bad.body) == {"id": "x", "msg": "no", "field": "data.email"}
    limited = house_response(RateLimited("slow", 7), ErrorAnswer(429))
    assert json.loads(limited.body) == {"msg": "slow", "retry_after": 7}
    assert limited.headers["retry-after"] == "7"
    refused = house_response(Unauthorized("who"), ErrorAnswer(401))
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.status_code == 401


# -- the validation mapper ---------------------------------------------------


def _refused(errors: list[dict[str, Any]]) -> RequestValidationError:
    return RequestValidationError(errors)


def test_a_json_syntax_error_says_what_and_where() -> None:
    raw = b'{\n  "user": "acme"\n  "pass": "x"\n}'
    exc = _refused([{"type": "json_invalid", "loc": ("body", 21), "msg": "JSON decode error"}])
    assert problem_of(exc, raw) == Problem(
        ProblemKind.NOT_JSON, "body", "Expecting ',' delimiter at line 3, column 3"
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {"type": "model_attributes_type", "loc": ("body",), "msg": "Input should be a dict"},
            Problem(ProblemKind.NOT_OBJECT, "body", "Input should be a dict"),
        ),
        (
            {"type": "missing", "loc": ("body",), "msg": "Field required"},
            Problem(ProblemKind.EMPTY, "body", "Field required"),
        ),
        (
            {"type": "missing", "loc": ("body", "data", "individual", "email"), "msg": "x"},
            Problem(ProblemKind.MISSING, "data.individual.email", "x"),
        ),
        (
            {"type": "value_error", "loc": ("query", "slug"), "msg": "Value error, no NUL"},
            Problem(ProblemKind.INVALID, "slug", "no NUL"),
        ),
        (
            {"type": "model_attributes_type", "loc": ("body", "data"), "msg": "a dict"},
            Problem(ProblemKind.INVALID, "data", "a dict"),
        ),
    ],
)
def test_the_first_problem_is_named_as_the_apis_name_fields(
    error: dict[str, Any], expected: Problem
) -> None:
    second = {"type": "missing", "loc": ("body", "other"), "msg": "Field required"}
    assert problem_of(_refused([error, second])) == expected


def test_a_problem_reads_as_required_or_as_its_detail() -> None:
    assert Problem(ProblemKind.MISSING, "target.phone", "Field required").message == (
        "target.phone is required"
    )
    assert Problem(ProblemKind.INVALID, "name", "too long").message == "name: too long"
    assert Problem(ProblemKind.MISSING, "name", "Field required").described == (
        "name: Field required"
    )


# -- the route class ---------------------------------------------------------

CALLER = Principal(Tenant("t1", "acme"), Environment.SANDBOX, "k1")
_JSON = {"content-type": "application/json"}


def _version(version: str) -> dict[str, str]:
    return {"X-API-Version": version}


class Inner(WireModel):
    email: str


class Thing(WireModel):
    name: str
    data: Inner


def _invalid(problem: Problem) -> InvalidInput | None:
    if problem.kind is ProblemKind.UNREADABLE:
        return None
    return InvalidInput(problem.field, f"{problem.kind.value}: {problem.message}")


def _app(**options: Any) -> FastAPI:
    api = WebApi(name="Test", errors=HOUSE, render=house_render, invalid=_invalid, **options)
    router = APIRouter(route_class=api.route_class())

    @router.post("/things")
    async def make(body: Thing, request: Request) -> JSONResponse:
        guarded = getattr(request.state, "principal", None) is not None
        who = principal_of(request).tenant.name if guarded else ""
        return JSONResponse({"name": body.name, "who": who})

    @router.get("/fail/{kind}")
    async def fail(kind: str) -> JSONResponse:
        errors: dict[str, OtpError] = {
            "conflict": Conflict("busy"),
            "limit": PausedForRisk("later", 9),
            "gone": NotFound("no such thing"),
        }
        raise errors[kind]

    app = FastAPI()
    app.include_router(router)
    return app


async def _call(app: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kwargs)


async def test_errors_a_handler_raises_are_answered_by_the_apis_table() -> None:
    app = _app()
    conflict = await _call(app, "GET", "/fail/conflict")
    limit = await _call(app, "GET", "/fail/limit")
    assert (conflict.status_code, conflict.json()) == (409, {"msg": "busy"})
    assert (limit.status_code, limit.json()) == (429, {"msg": "later", "retry_after": 9})
    assert limit.headers["retry-after"] == "9"


async def test_malformed_requests_are_worded_by_the_api() -> None:
    app = _app()
    missing = await _call(app, "POST", "/things", json={"name": "x", "data": {}})
    not_json = await _call(app, "POST", "/things", content=b"{nope", headers=_JSON)
    empty = await _call(app, "POST", "/things", content=b"", headers=_JSON)
    listed = await _call(app, "POST", "/things", content=b"[]", headers=_JSON)
    assert missing.status_code == 400
    assert missing.json() == {"msg": "missing: data.email is required", "field": "data.email"}
    assert not_json.json()["msg"] == (
        "not_json: body: Expecting property name enclosed in double quotes at line 1, column 2"
    )
    assert empty.json() == {"msg": "empty: body is required", "field": "body"}
    assert listed.json()["msg"].startswith("not_object: body: ")


async def test_a_body_that_is_not_text_is_left_to_the_app_when_the_api_has_no_words() -> None:
    app = _app()
    r = await _call(app, "POST", "/things", content=b"\xff\xfe{", headers=_JSON)
    assert r.status_code == 400
    assert r.json() == {"detail": "There was an error parsing the body"}  # FastAPI's own


async def test_the_guard_runs_before_the_body_is_validated() -> None:
    async def refuse(request: Request) -> Principal:
        if request.headers.get("authorization") != "Bearer ok":
            raise Unauthorized("who are you")
        return CALLER

    app = _app(guard=authenticated(refuse))
    refused = await _call(app, "POST", "/things", content=b"{nope", headers=_JSON)
    admitted = await _call(
        app,
        "POST",
        "/things",
        json={"name": "x", "data": {"email": "a@b.io"}},
        headers={"Authorization": "Bearer ok"},
    )
    assert refused.status_code == 401 and refused.json() == {"msg": "who are you"}
    assert refused.headers["www-authenticate"] == "Bearer"
    assert admitted.json() == {"name": "x", "who": "acme"}


async def test_every_answer_echoes_the_header_when_it_is_short_printable_text() -> None:
    app = _app(echo_header="X-API-Version")
    ok = await _call(
        app, "POST", "/things", json={"name": "x", "data": {"email": "a"}}, headers=_version("2.1")
    )
    failed = await _call(app, "GET", "/fail/gone", headers=_version("2.1"))
    too_long = await _call(app, "GET", "/fail/gone", headers=_version("9" * 65))
    unprintable = await _call(app, "GET", "/fail/gone", headers=_version("a\tb"))
    assert ok.headers["x-api-version"] == "2.1" and failed.headers["x-api-version"] == "2.1"
    assert failed.status_code == 404
    assert "x-api-version" not in too_long.headers
    assert "x-api-version" not in unprintable.headers
    plain = await _call(_app(), "GET", "/fail/gone", headers=_version("2"))
    assert "x-api-version" not in plain.headers


def test_json_text_is_what_a_json_response_sends() -> None:
    """A first PATCH answer is encoded once (``json_text``), stored, and sent as it is; it
    must be byte for byte what ``JSONResponse`` would send for the same body."""
    from starlette.responses import JSONResponse

    from otpgate.web.routing import json_text

    body = {
        "eval_id": "e1",
        "name": "Zoë Ångström 東京",
        "score": 0.5,
        "tags": [],
        "nested": {"a": [1, None, True], "b": 'quote " and \\ back'},
    }
    assert json_text(body).encode() == JSONResponse(body).body
