"""A whole flow against a real server: its log never shows a code, a phone number or an
email address, in any spelling."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.server import ServerProcess

from .conftest import Live, production_key, server_env

pytestmark = pytest.mark.e2e

PHONE = "+14155550163"
PHONE_TYPED = "+1 415-555-0163"
EMAIL = "redact.me.please@example.org"
PII = {
    "given_name": "Jane",
    "family_name": "Doe",
    "national_id": "123-45-6789",
    "date_of_birth": "1990-05-17",
    "address": {
        "line_1": "1 Market St",
        "locality": "San Francisco",
        "major_admin_division": "CA",
        "postal_code": "94105",
        "country": "US",
    },
}


def _wrong(code: str) -> str:
    return str((int(code) + 1) % 1_000_000).zfill(6)


def test_logs_never_show_codes_phones_or_emails(tmp_path: Path) -> None:
    env = {**server_env(tmp_path), "OTPGATE_LOG_LEVEL": "debug"}
    server = ServerProcess(env, tmp_path / "server.log", workers=1)
    live = Live(server=server, key=production_key(server), db_path=tmp_path / "otpgate.db")
    codes: list[str] = []
    with server, live.client() as c:
        r = c.post(
            "/api/evaluation",
            headers={"X-Request-Id": "flow-1"},
            json={
                "id": "flow-1",
                "workflow": "individual_onboarding",
                "data": {"individual": {"phone_number": PHONE_TYPED, "email": EMAIL}},
            },
        )
        assert r.status_code == 200, r.text
        eval_id = r.json()["eval_id"]
        url = f"/api/evaluation/{eval_id}"
        code = live.last_code(PHONE)
        codes.append(code)
        otp = lambda body: {"id": f"p-{len(codes)}-{body}", "data": {"individual": {"otp": body}}}  # noqa: E731
        assert c.patch(url, json=otp({"code": _wrong(code)})).status_code == 400
        assert c.patch(url, json=otp({"resend": True})).status_code == 200
        assert c.patch(url, json=otp({"code": code})).status_code == 200
        details = c.patch(url, json={"id": "pii", "data": {"individual": PII}})
        assert details.json()["decision"] == "ACCEPT"
        # An email flow, a resume, and refusals that echo nothing back.
        r = c.post(
            "/api/evaluation",
            json={
                "id": "flow-2",
                "workflow": "otp_verification",
                "data": {"individual": {"email": EMAIL, "otp": {"channel": "email"}}},
            },
        )
        codes.append(live.last_code(EMAIL))
        c.patch(
            f"/api/evaluation/{r.json()['eval_id']}", json={"id": "r", "actions": {"resume": True}}
        )
        c.patch(f"/api/evaluation/{r.json()['eval_id']}", json=otp({"code": codes[-1]}))
        for bad in ({"phone_number": "+1 415 555 01"}, {"email": "redact.me.please@"}):
            c.post(
                "/api/evaluation", json={"id": "b", "workflow": "x", "data": {"individual": bad}}
            )
        c.get("/v1/outbox", params={"destination": PHONE})
        c.get("/v1/outbox", params={"destination": EMAIL})
    log = server.logs()
    assert '"route": "/api/evaluation/{eval_id}"' in log  # the log did capture the flow
    assert "flow-1" in log
    for secret in (PHONE, PHONE_TYPED, "4155550163", "415-555-0163", "5550163", EMAIL):
        assert secret not in log, secret
    assert "redact.me.please" not in log
    for code in codes:
        assert not re.search(rf"(?<![\d.]){code}(?!\d)", log), code
