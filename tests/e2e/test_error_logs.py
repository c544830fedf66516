"""A database error under a real server leaves no personal data in its log.

PostgreSQL reports a failed CHECK with ``DETAIL: Failing row contains (…)``, every value
of the row; uvicorn printed that traceback as it was. Now every line the process writes,
tracebacks included, is one redacted log line."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.pgdb import fresh_database
from tests.support.server import ServerProcess
from tests.support.services import require_postgres

from .conftest import server_env

pytestmark = pytest.mark.e2e

PHONE = "+14155550188"
EMAIL = "error.log.probe@example.org"


def test_a_database_error_is_logged_redacted(tmp_path: Path) -> None:
    with fresh_database(require_postgres()) as url:
        env = {**server_env(tmp_path), "OTPGATE_DATABASE_URL": url}
        server = ServerProcess(env, tmp_path / "server.log", workers=1)
        key = server.cli("keys", "create", "--environment", "production").splitlines()[-1]
        with server:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "ALTER TABLE verification_sessions ADD CONSTRAINT probe CHECK (false) NOT VALID"
                )

            r = httpx.post(
                f"{server.url}/api/evaluation",
                headers={"Authorization": f"Bearer {key}"},
                json={
                    "id": "probe-1",
                    "workflow": "otp_verification",
                    "data": {"individual": {"phone_number": PHONE, "email": EMAIL}},
                },
                timeout=30,
            )
            assert r.status_code == 500
            assert PHONE not in r.text and EMAIL not in r.text
        logs = server.logs()
    assert "probe" in logs, "the database error reached the log"
    assert "Traceback" in logs, "with its traceback"
    for needle in (PHONE, PHONE[1:], "4155550188", EMAIL, "Failing row"):
        assert needle not in logs, needle
    lines = [line for line in logs.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("otpgate ready:"):
            continue
        assert isinstance(json.loads(line), dict), line
