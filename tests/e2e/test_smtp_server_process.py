"""An operator's setup: a real `otpgate serve` process pointed at a real SMTP server."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.server import ServerProcess
from tests.support.smtp import start_smtp, text_part

pytestmark = pytest.mark.e2e


def test_a_served_instance_delivers_by_smtp_and_logs_neither_code_nor_address(tmp_path):
    smtp = start_smtp()
    env = {
        "OTPGATE_DATABASE_URL": f"sqlite:///{tmp_path}/otpgate.db",
        "OTPGATE_EMAIL_PROVIDERS": "smtp",
        "OTPGATE_SMTP_HOST": "127.0.0.1",
        "OTPGATE_SMTP_PORT": str(smtp.port),
        "OTPGATE_SMTP_SECURITY": "none",
        "OTPGATE_SMTP_FROM": "Acme <no-reply@acme.example>",
        "OTPGATE_LOG_LEVEL": "debug",
    }
    server = ServerProcess(env, tmp_path / "server.log")
    try:
        assert "delivery configuration is complete" in server.cli("providers", "check")
        key = server.cli("keys", "create", "--environment", "production").strip().splitlines()[-1]
        with server:
            headers = {"Authorization": f"Bearer {key}"}
            r = httpx.post(
                f"{server.url}/api/evaluation",
                headers=headers,
                json={
                    "id": "e2e-1",
                    "workflow": "otp_verification",
                    "data": {"individual": {"email": "jane.doe@example.com", "locale": "es"}},
                },
                timeout=30,
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["data_enrichments"][0]["enrichment_provider"] == "smtp"
            [mail] = smtp.mailbox.messages
            assert mail["Subject"] == "Tu código de verificación de otpgate"
            code = re.search(r"\b(\d{6})\b", text_part(mail)).group(1)
            r = httpx.patch(
                f"{server.url}/api/evaluation/{body['eval_id']}",
                headers=headers,
                json={"id": "e2e-2", "data": {"individual": {"otp": {"code": code}}}},
                timeout=30,
            )
            assert r.json()["decision"] == "ACCEPT"
        logs = server.logs()
        assert not re.search(rf"(?<![0-9a-f]){code}(?![0-9a-f])", logs)
        assert "jane.doe@example.com" not in logs
    finally:
        server.stop()
        smtp.stop()
