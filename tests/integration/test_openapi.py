"""``/openapi.json`` is a valid document that says what otpgate answers; ``/docs`` is offline."""

from __future__ import annotations

import re

import jsonschema
import pytest
from openapi_spec_validator import validate

from otpgate.testing.app import running_app


async def document(harness) -> dict:
    async with harness.client() as c:
        r = await c.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(doc: dict):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


async def test_the_document_is_valid_openapi(harness):
    validate(await document(harness))


async def test_no_route_lists_fastapis_422(harness):
    doc = await document(harness)
    assert "HTTPValidationError" not in str(doc)
    for path, method, op in operations(doc):
        if not path.startswith("/v1/otp"):  # the sponsor API's 422 is its own (wrong code)
            assert "422" not in op["responses"], (method, path)
    post = doc["paths"]["/api/evaluation"]["post"]["responses"]
    assert post["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert "Retry-After" in post["429"]["headers"]
    assert "404" not in post  # a POST never answers 404
    assert set(doc["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}


async def test_security_schemes_are_declared_and_applied(harness):
    doc = await document(harness)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    flow = schemes["sponsorOAuth"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    for path, method, op in operations(doc):
        if path.startswith(("/api/evaluation", "/v1/outbox", "/v1/admin")):
            assert op["security"] == [{"apiKey": []}], (method, path)
        elif path.startswith(("/v1/otp", "/v1/sponsors")):
            assert op["security"] == [{"sponsorOAuth": []}], (method, path)
        elif path.startswith("/process"):  # credentials travel in the body
            assert "security" not in op


async def test_enumerations_are_documented(harness):
    schemas = (await document(harness))["components"]["schemas"]
    result = schemas["Result"]["properties"]
    assert sorted(result["action"]["enum"]) == ["FAIL", "PASS", "PENDING"]
    assert "FAILED OUT-OF-BAND CHECK" in result["detail"]["enum"]
    assert "071-206" in schemas["SponsorError"]["properties"]["error_code"]["enum"]
    evaluation = schemas["EvaluationResponse"]["properties"]
    assert "Pending OTP Code" in evaluation["sub_status"]["examples"]
    assert "ACCEPT" in str(evaluation["decision"])


async def test_the_documented_error_bodies_are_the_real_ones(harness):
    doc = await document(harness)
    error = {**doc["components"]["schemas"]["Error"], "components": doc["components"]}
    async with harness.client(harness.sandbox_key) as c:
        bad = await c.post("/api/evaluation", json={"id": 7})
        unknown = await c.get("/api/evaluation/0")
    assert bad.status_code == 400 and unknown.status_code == 400
    for r in (bad, unknown):
        jsonschema.validate(r.json(), error)
        assert r.json()["field"]
    sponsor = doc["components"]["schemas"]["SponsorError"]
    async with harness.client() as c:
        r = await c.post("/v1/otp/send", json={})
    assert r.status_code == 401
    jsonschema.validate(r.json(), sponsor)


async def test_docs_load_their_assets_from_otpgate(harness):
    async with harness.client() as c:
        page = await c.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets, page.text
        for url in assets:
            assert url.startswith("/docs/assets/"), url  # nothing from a CDN
            asset = await c.get(url)
            assert asset.status_code == 200 and len(asset.content) > 1000, url
        redoc = await c.get("/redoc")
        assert redoc.status_code == 200 and "/docs/assets/redoc.standalone.js" in redoc.text
        assert "cdn." not in page.text + redoc.text and "fonts.googleapis" not in redoc.text


def _strings(schema, schemas, seen=()):
    """Every string schema a request schema holds, with its path (refs followed once)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name not in seen:
            yield from _strings(schemas[name], schemas, (*seen, name))
        return
    if "properties" not in schema:  # a value's options, not rules between an object's fields
        for key in ("anyOf", "oneOf", "allOf"):
            for option in schema.get(key, []):
                yield from _strings(option, schemas, seen)
    if schema.get("type") == "string":
        yield schema
    for sub in schema.get("properties", {}).values():
        yield from _strings(sub, schemas, seen)
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(schema.get(key), dict):
            yield from _strings({"type": "string", **schema[key]}, schemas, seen)


async def test_every_request_string_has_a_stated_shape(harness):
    """No request string is "any text": each has a pattern, a format or an enumeration
    (at least: no control characters), as the server checks."""
    doc = await document(harness)
    schemas = doc["components"]["schemas"]
    bare = []
    for path, method, op in operations(doc):
        found = [p["schema"] for p in op.get("parameters", [])]
        for media in op.get("requestBody", {}).get("content", {}).values():
            found.append(media["schema"])
        for schema in found:
            for string in _strings(schema, schemas):
                if not {"pattern", "format", "enum", "const"} & set(string):
                    bare.append(f"{method} {path}: {string}")
    assert not bare, "\n".join(bare)


async def test_the_document_states_the_checks_behind_the_schema(harness):
    doc = await document(harness)
    schemas = doc["components"]["schemas"]
    params = {
        (path, p["name"]): p["schema"]
        for path, _method, op in operations(doc)
        for p in op.get("parameters", [])
    }
    assert params[("/api/evaluation/{eval_id}", "eval_id")]["format"] == "uuid"
    slug = params[("/v1/admin/sponsors/{slug}", "slug")]["pattern"]
    assert re.match(slug, "acme-health") and not re.match(slug, "Acme Health")
    send = schemas["SendRequest"]["properties"]
    assert send["channel"]["enum"] == ["SMS", "EMAIL"]
    assert re.match(send["beneficiary_id"]["pattern"], "bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O")
    otp_id = schemas["ValidateRequest"]["properties"]["otp_id"]["pattern"]
    assert re.match(otp_id, "otp_01HX9NPQ12ABCDEFGH34567890") and not re.match(otp_id, "otp_1")
    start = schemas["EvaluationRequest"]["properties"]
    assert re.match(start["timestamp"]["anyOf"][0]["pattern"], "2025-09-30")
    assert not re.match(start["timestamp"]["anyOf"][0]["pattern"], "2025-02-30T10:00:00Z")
    individual = schemas["StartIndividual"]
    phone = individual["properties"]["phone_number"]["anyOf"][0]
    assert phone["format"] == "phone" and re.match(phone["pattern"], "+14155550100")
    email = individual["properties"]["email"]["anyOf"][0]
    assert email["format"] == "email"
    assert re.match(email["pattern"], "ana@example.com")
    assert not re.match(email["pattern"], "ana@example.test")  # refused as undeliverable
    assert individual["anyOf"]  # a phone number or an email
    gateway = schemas["GatewayRequest"]
    assert gateway["properties"]["service"]["enum"] == [
        "PhoneMatch5.0.SMS",
        "PhoneMatch5.0.Voice",
        "PhoneMatch5.0.Email",
    ]
    assert [rule["then"]["properties"]["target"]["required"] for rule in gateway["allOf"]] == [
        ["fn"],
        ["ln"],
    ]
    assert schemas["Target"]["properties"]["phone"]["$ref"].endswith("/PlainJson")
    state = schemas["EvaluationStateUpdate"]["properties"]
    assert state["decision"]["enum"] == ["ACCEPT", "REVIEW", "REJECT"]
    assert state["attachments"]["anyOf"][0]["maxItems"] == 0


@pytest.fixture
async def operator(settings, clock, tmp_path):
    extra = tmp_path / "workflows.yaml"
    extra.write_text(
        "format: 1\n"
        "workflows:\n"
        "  sms_only:\n"
        "    id: 0b9a1c2d-0000-4000-8000-000000000001\n"
        "    version: '1'\n"
        "    channels: [sms]\n"
        "    on_verified: {status: CLOSED, sub_status: Approve, decision: ACCEPT}\n"
        "    on_resume: {status: CLOSED, sub_status: Under Review, decision: REVIEW}\n"
    )
    mine = settings.model_copy(
        update={"workflows_file": str(extra), "workflow_aliases": "your_otp_workflow=sms_only"}
    )
    async with running_app(mine, clock=clock) as h:
        yield h


async def test_workflow_names_come_from_the_catalog_the_app_loaded(operator):
    """Built-in workflows, the operator's file and aliases: the names POST, PATCH and PUT
    take; a workflow that reaches phones only needs a phone number (or a channel)."""
    schemas = (await document(operator))["components"]["schemas"]
    names = ["individual_onboarding", "otp_verification", "sms_only", "your_otp_workflow"]
    assert schemas["EvaluationRequest"]["properties"]["workflow"]["enum"] == names
    assert schemas["EvaluationPatch"]["properties"]["workflow"]["anyOf"][0]["enum"] == names
    assert schemas["EvaluationStateUpdate"]["properties"]["workflow"]["enum"] == names
    [rule] = schemas["EvaluationRequest"]["allOf"]
    assert rule["if"]["properties"]["workflow"]["enum"] == ["sms_only", "your_otp_workflow"]
    async with operator.client(operator.sandbox_key) as c:
        body = {"id": "e-1", "workflow": "your_otp_workflow"}
        r = await c.post(
            "/api/evaluation", json={**body, "data": {"individual": {"email": "a@b.co"}}}
        )
        assert r.status_code == 400 and r.json()["field"] == "data.individual.phone_number"
