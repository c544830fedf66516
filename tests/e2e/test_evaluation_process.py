"""The server as a process: restarts keep sessions, the CLI reads the outbox, init
prints a usable key."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess

from .conftest import Live, production_key, server_env

pytestmark = pytest.mark.e2e

PHONE = "+14155550177"


def _post(live: Live, phone: str = PHONE) -> dict:
    with live.client() as c:
        r = c.post(
            "/api/evaluation",
            json={
                "id": f"restart-{phone}",
                "workflow": "otp_verification",
                "data": {"individual": {"phone_number": phone}},
            },
        )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_restart_keeps_live_sessions_verifiable(tmp_path: Path) -> None:
    server = ServerProcess(server_env(tmp_path), tmp_path / "server.log", workers=2)
    key = production_key(server)
    live = Live(server=server, key=key, db_path=tmp_path / "otpgate.db")
    with server:
        ev = _post(live)
    # The code secret lives in the database: a new process derives the same code.
    with server:
        code = live.last_code(PHONE)
        with live.client() as c:
            r = c.patch(
                f"/api/evaluation/{ev['eval_id']}",
                json={"id": "after-restart", "data": {"individual": {"otp": {"code": code}}}},
            )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["decision"]) == ("CLOSED", "ACCEPT")


def test_outbox_cli_lists_the_message(tmp_path: Path) -> None:
    server = ServerProcess(server_env(tmp_path), tmp_path / "server.log", workers=1)
    live = Live(server=server, key=production_key(server), db_path=tmp_path / "otpgate.db")
    with server:
        _post(live)
        code = live.last_code(PHONE)
    out = server.cli("outbox", "--destination", "+1 415-555-0177")
    [line] = out.strip().splitlines()
    assert PHONE in line and code in line and "sms" in line
    assert server.cli("outbox", "--destination", "+14155550178").strip() == "the outbox is empty"


def test_init_prints_a_working_key_and_a_curl_line(tmp_path: Path) -> None:
    server = ServerProcess(server_env(tmp_path), tmp_path / "server.log", workers=1)
    out = server.cli("init", "--port", str(server.port))
    keys = [w for w in out.split() if w.startswith("og_sandbox_")]
    assert keys, out
    key = keys[0]
    assert f"curl -s -X POST http://127.0.0.1:{server.port}/api/evaluation" in out
    assert (tmp_path / "var" / "sandbox-key.txt").read_text().strip() == key
    again = server.cli("init")
    assert "already exists" in again and "og_sandbox_" not in again
    with server:
        r = httpx.post(
            f"{server.url}/api/evaluation",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "id": "first-try",
                "workflow": "otp_verification",
                "data": {"individual": {"phone_number": "+14155550100"}},
            },
            timeout=30,
        )
    assert r.status_code == 200 and r.json()["environment_name"] == "Sandbox"


def test_init_ignores_sandbox_keys_of_other_tenants(tmp_path: Path) -> None:
    """A demo key left by a crashed server (tenant otpgate-demo) must not stop `make run`
    from creating and printing the default tenant's key."""
    server = ServerProcess(server_env(tmp_path), tmp_path / "server.log", workers=1)
    server.cli("keys", "create", "--environment", "sandbox", "--tenant", "otpgate-demo")
    out = server.cli("init")
    assert any(w.startswith("og_sandbox_") for w in out.split()), out
