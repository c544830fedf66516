"""Control characters and lone surrogates: a 400 naming the field, on every API, on both
databases, before anything is sent or written (issue 11, point 5).

PostgreSQL text cannot hold NUL: on main the gateway's ``reference`` sent the SMS and then
answered 500, and an admin sponsor ``name`` and ``GET /v1/outbox?destination=%00`` answered
500 (SQLite stored them). The sweep puts each refused character into every string field of
every route's request (body, path, query, form), one at a time, and
``test_the_sweep_covers_every_documented_string`` keeps it honest against the OpenAPI
document, so a new field cannot be left out.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from otpgate.testing.app import Harness
from tests.integration.sponsor_support import BENEFICIARY, SPONSOR, set_up_sponsor

PHONE = "+14155550142"
EVAL_ID = "3f2b1c9e-8d7a-4e6f-9b5c-1a2d3e4f5a6b"
# One of each kind refused: NUL, another C0, DEL, C1 (NEL), a lone surrogate (bodies only,
# as a JSON escape: it cannot be percent-encoded in a URL).
REFUSED = ["a\x00b", "\x1f", "x\x7f", "\x85y", "\ud800"]
IN_URLS = REFUSED[:4]


@dataclass
class Route:
    method: str
    path: str
    auth: str | None = "key"  # "key": a sandbox API key; "token": an OAuth access token
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    form: dict[str, str] | None = None


def routes(key: str) -> list[Route]:
    individual = {
        "phone_number": PHONE,
        "email": "jane@example.com",
        "given_name": "Jane",
        "family_name": "Doe",
        "national_id": "123456789",
        "date_of_birth": "1990-01-31",
        "locale": "en",
        "address": {
            "line_1": "1 Main St",
            "line_2": "Apt 2",
            "locality": "Springfield",
            "major_admin_division": "IL",
            "postal_code": "62701",
            "country": "US",
        },
    }
    post = {
        "id": "req-1",
        "timestamp": "2025-09-30T10:07:00Z",
        "workflow": "otp_verification",
        "data": {
            "individual": {**individual, "otp": {"channel": "sms", "code": "1"}},
            "ip_address": "203.0.113.7",
        },
    }
    patch = {
        "id": "req-2",
        "timestamp": "2025-09-30T10:07:00Z",
        "workflow": "otp_verification",
        "data": {
            "individual": {**individual, "otp": {"code": "123456", "channel": "sms"}},
            "ip_address": "203.0.113.7",
        },
    }
    gateway = {
        "user": "acme",
        "pass": key,
        "service": "PhoneMatch5.0.SMS",
        "reference": "order-1",
        "target": {"fn": "Jane", "ln": "Doe", "phone": PHONE, "email": "jane@example.com"},
        "options": {
            "outofband": {
                "message": "Your code is {pin}",
                "do_not_send_to_types": ["VOIP"],
                "country": {"blacklist": ["CU"], "whitelist": ["US"]},
            }
        },
    }
    slug = {"slug": SPONSOR}
    both = {"slug": SPONSOR, "beneficiary_id": BENEFICIARY}
    return [
        Route("POST", "/api/evaluation", body=post),
        Route("GET", "/api/evaluation/{eval_id}", path_params={"eval_id": EVAL_ID}),
        Route("PATCH", "/api/evaluation/{eval_id}", path_params={"eval_id": EVAL_ID}, body=patch),
        Route(
            "PUT",
            "/api/evaluation/{eval_id}/state",
            path_params={"eval_id": EVAL_ID},
            body={
                "workflow": "otp_verification",
                "decision": "ACCEPT",
                "status": "CLOSED",
                "sub_status": "Approve",
                "notes": "checked",
                "attachments": ["case.jpeg"],  # refused whatever it holds
            },
        ),
        Route("GET", "/v1/outbox", query={"destination": PHONE}),
        Route("POST", "/process/comprehensive/gateway", auth=None, body=gateway),
        Route(
            "POST",
            "/process/continue",
            auth=None,
            body={"user": "acme", "pass": key, "token": "t" * 32, "codematch": {"key": "1234"}},
        ),
        Route(
            "POST", "/process/status", auth=None, body={"user": "acme", "pass": key, "token": "t"}
        ),
        Route(
            "PUT",
            "/v1/admin/sponsors/{slug}",
            path_params=slug,
            body={"name": "Health", "channels": ["SMS"], "otp_operations": {"pharmacy": ["x"]}},
        ),
        Route("GET", "/v1/admin/sponsors/{slug}", path_params=slug),
        Route(
            "PUT",
            "/v1/admin/sponsors/{slug}/beneficiaries/{beneficiary_id}",
            path_params=both,
            body={"phone_number": PHONE, "email": "jane@example.com"},
        ),
        Route("GET", "/v1/admin/sponsors/{slug}/beneficiaries/{beneficiary_id}", path_params=both),
        Route(
            "DELETE", "/v1/admin/sponsors/{slug}/beneficiaries/{beneficiary_id}", path_params=both
        ),
        Route(
            "POST",
            "/oauth/token",
            auth=None,
            form={"grant_type": "client_credentials", "client_id": "k", "client_secret": key},
        ),
        Route(
            "POST",
            "/v1/otp/send",
            auth="token",
            body={"beneficiary_id": BENEFICIARY, "sponsor_slug": SPONSOR, "channel": "SMS"},
        ),
        Route(
            "POST",
            "/v1/otp/validate",
            auth="token",
            body={"otp_id": "otp_01HW8GQ2KMNP3F4R5T6Y7U8I9O", "code": "123456"},
        ),
        Route(
            "POST",
            "/v1/otp/verification-tokens/redeem",
            auth="token",
            body={"token": "otvt_x", "operation": "dispensation.complete", "product_type": "p"},
        ),
        Route(
            "GET",
            "/v1/sponsors/{slug}/configuration",
            auth="token",
            path_params=slug,
            query={"product_type": "pharmacy"},
        ),
    ]


def string_leaves(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of every string in a JSON body, and of every object key (marked ``KEY``)."""
    if isinstance(value, str):
        yield prefix
    elif isinstance(value, dict):
        for k, v in value.items():
            if prefix and prefix[-1] in FREE_FORM:  # its keys reach storage too
                yield (*prefix, KEY, k)
            yield from string_leaves(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from string_leaves(v, (*prefix, i))


KEY = object()
FREE_FORM = {"otp_operations"}  # an object with free-form keys: the API names the object


def with_value(body: dict[str, Any], path: tuple[Any, ...], value: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    if len(path) >= 2 and path[-2] is KEY:
        parent = out
        for p in path[:-2]:
            parent = parent[p]
        parent[value] = parent.pop(path[-1])
        return out
    target = out
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return out


def field_of(path: tuple[Any, ...]) -> str:
    """The name an API gives the field: the dotted path down to the first list or key."""
    names = []
    for p in path:
        if isinstance(p, int) or p is KEY:
            break
        names.append(p)
        if p in FREE_FORM:
            break
    return ".".join(names)


@dataclass
class Probe:
    route: Route
    field: str
    value: str
    path_params: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any] | None
    form: dict[str, str] | None


def probes(route: Route) -> Iterator[Probe]:
    for name in route.path_params:
        for value in IN_URLS:
            params = {**route.path_params, name: value}
            yield Probe(route, name, value, params, route.query, route.body, route.form)
    for name in route.query:
        for value in IN_URLS:
            query = {**route.query, name: value}
            yield Probe(route, name, value, route.path_params, query, route.body, route.form)
    for name in route.form or {}:
        for value in IN_URLS:
            form = {**(route.form or {}), name: value}
            yield Probe(route, name, value, route.path_params, route.query, None, form)
    if route.body is not None:
        for path in string_leaves(route.body):
            for value in REFUSED:
                body = with_value(route.body, path, value)
                yield Probe(
                    route, field_of(path), value, route.path_params, route.query, body, None
                )


async def send(h: Harness, probe: Probe, credentials: dict[str | None, str | None]) -> Any:
    route = probe.route
    url = route.path.format(**{k: quote(v, safe="") for k, v in probe.path_params.items()})
    async with h.client(credentials[route.auth]) as c:
        if probe.form is not None:
            return await c.request(route.method, url, params=probe.query, data=probe.form)
        content = None if probe.body is None else json.dumps(probe.body).encode()
        headers = {"content-type": "application/json"} if content is not None else {}
        return await c.request(
            route.method, url, params=probe.query, content=content, headers=headers
        )


async def test_every_string_field_of_every_route_refuses_control_characters(app: Harness):
    sponsor = await set_up_sponsor(app, app.sandbox_key)
    credentials = {None: None, "key": app.sandbox_key, "token": sponsor.access_token}
    before = await app.services.outbox(None, None, limit=200)
    failures = []
    count = 0
    for route in routes(app.sandbox_key):
        for probe in probes(route):
            count += 1
            r = await send(app, probe, credentials)
            if r.status_code != 400 or probe.field not in r.text:
                failures.append(
                    f"{route.method} {route.path} {probe.field}={probe.value!r}: "
                    f"{r.status_code} {r.text[:160]}"
                )
    assert not failures, f"{len(failures)} of {count}:\n" + "\n".join(failures)
    assert count > 200
    # Refused before anything was sent or written: no new message, no new evaluation.
    assert len(await app.services.outbox(None, None, limit=200)) == len(before)
    async with app.client(app.sandbox_key) as c:
        assert (await c.get(f"/v1/admin/sponsors/{SPONSOR}")).json()["name"] == "Sandbox Health"


async def test_the_reported_nul_inputs_answer_400_and_send_nothing(app: Harness):
    async with app.client() as c:
        r = await c.post(
            "/process/comprehensive/gateway",
            json={
                "user": "acme",
                "pass": app.sandbox_key,
                "service": "PhoneMatch5.0.SMS",
                "reference": "ref\x00",
                "target": {"phone": PHONE},
            },
        )
    assert r.status_code == 400, r.text
    assert r.json()["result"]["action"] == "FAIL"
    assert "reference" in r.json()["result"]["issues"][0]
    assert await app.messages(PHONE) == []  # the SMS was not sent
    async with app.client(app.sandbox_key) as c:
        r = await c.put("/v1/admin/sponsors/acme-health", json={"name": "Acme\x00"})
        assert r.status_code == 400 and r.json()["field"] == "name", r.text
        assert (await c.get("/v1/admin/sponsors/acme-health")).status_code == 404
        r = await c.get("/v1/outbox?destination=%00")
        assert r.status_code == 400 and r.json()["field"] == "destination", r.text


async def test_multi_line_text_keeps_its_lines_and_nothing_else(app: Harness):
    """A message template may span lines; a name may not."""
    body = {
        "user": "acme",
        "pass": app.sandbox_key,
        "service": "PhoneMatch5.0.SMS",
        "target": {"phone": PHONE, "fn": "Jane"},
        "options": {"outofband": {"message": "Hello {fn},\r\n\tyour code is {pin}"}},
    }
    async with app.client() as c:
        r = await c.post("/process/comprehensive/gateway", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["result"]["action"] == "PENDING"
        body["target"] = {"phone": PHONE, "fn": "Jane\nDoe"}
        r = await c.post("/process/comprehensive/gateway", json=body)
        assert r.status_code == 400 and "target.fn" in r.text, r.text


def _schema_strings(
    schema: Any, doc: dict[str, Any], prefix: str = "", seen: tuple[str, ...] = ()
) -> Iterator[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:  # a recursive value (PlainJson): any JSON, strings in it swept
            yield prefix
            return
        target = doc["components"]["schemas"][name]
        yield from _schema_strings(target, doc, prefix, (*seen, name))
        return
    for option in schema.get("anyOf", []):
        yield from _schema_strings(option, doc, prefix, seen)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            yield from _schema_strings(sub, doc, f"{prefix}.{name}" if prefix else name, seen)
        if isinstance(schema.get("additionalProperties"), dict):
            yield prefix  # free-form keys
    elif kind == "array":
        yield from _schema_strings(schema.get("items", {}), doc, prefix, seen)
    elif kind == "string" or (kind is None and not schema.get("anyOf") and prefix):
        yield prefix  # a string, or an untyped (Any) field


async def test_the_sweep_covers_every_documented_string(harness: Harness):
    async with harness.client() as c:
        doc = (await c.get("/openapi.json")).json()
    swept = {
        (r.method.lower(), r.path): {p.field for p in probes(r)} for r in routes("og_sandbox_x")
    }
    missing = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            documented = {p["name"] for p in op.get("parameters", [])}
            for media in op.get("requestBody", {}).get("content", {}).values():
                documented |= set(_schema_strings(media["schema"], doc))
            documented = {
                d
                for d in documented
                if not any(
                    p["name"] == d and "integer" in str(p["schema"])
                    for p in op.get("parameters", [])
                )
            }
            if documented - swept.get((method, path), set()):
                missing.append(
                    f"{method} {path}: {sorted(documented - swept.get((method, path), set()))}"
                )
    assert not missing, "\n".join(missing)


async def test_a_body_that_is_not_utf8_is_refused_in_each_apis_own_words(app: Harness):
    """FastAPI's own "error parsing the body" answer bypassed the gateway and sponsor bodies."""
    sponsor = await set_up_sponsor(app, app.sandbox_key)
    raw = b"D3\xffXY\x93S"
    headers = {"content-type": "application/json"}
    async with app.client() as c:
        r = await c.post("/process/status", content=raw, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["result"]["action"] == "FAIL", r.text
    async with sponsor.client() as c:
        r = await c.post("/v1/otp/send", content=raw, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "071-201", r.text
