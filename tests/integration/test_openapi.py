"""``/openapi.json`` is a valid document that says what otpgate answers; ``/docs`` is offline."""

from __future__ import annotations

import re

import jsonschema
from openapi_spec_validator import validate


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
