"""The secrets file across real processes: ``otpgate init`` and ``serve`` on SQLite make
it, a restart keeps live sessions, and PostgreSQL without it refuses to start."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from otpgate import secretfile
from tests.support.pgdb import fresh_database
from tests.support.server import SRC, ServerProcess
from tests.support.services import require_postgres

from .conftest import Live, production_key, server_env

pytestmark = pytest.mark.e2e

PHONE = "+14155550177"


def default_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment with no OTPGATE_SECRETS_FILE: the default ./var/secrets."""
    env = {**os.environ, "PYTHONPATH": str(SRC), **server_env(tmp_path), **extra}
    env.pop("OTPGATE_SECRETS_FILE", None)
    return env


def otpgate(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otpgate", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_init_creates_the_secrets_file_whatever_the_database(tmp_path: Path) -> None:
    with fresh_database(require_postgres()) as url:
        done = otpgate(default_env(tmp_path, OTPGATE_DATABASE_URL=url), tmp_path, "init")
    assert done.returncode == 0, done.stderr
    path = tmp_path / "var" / "secrets"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(secretfile.read_file(path)) == set(secretfile.REQUIRED)
    assert f"Created the secrets file {Path('./var/secrets')}" in done.stdout


def test_postgres_without_secrets_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    with fresh_database(require_postgres()) as url:
        env = default_env(tmp_path, OTPGATE_DATABASE_URL=url)
        done = otpgate(env, tmp_path, "serve", "--port", "0")
        assert done.returncode == 2, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "otpgate init" in lines[0] and "var/secrets" in lines[0]
        assert not (tmp_path / "var" / "secrets").exists()
        # One secret set, the others not: one line each, naming it.
        partial = {**env, "OTPGATE_CODE_SECRET": "c" * 24}
        done = otpgate(partial, tmp_path, "serve", "--port", "0")
        assert done.returncode == 2
        named = done.stderr.strip().splitlines()
        assert [line.split()[1] for line in named] == [
            "OTPGATE_OAUTH_SIGNING_KEY",
            "OTPGATE_LOOKUP_KEY",
            "OTPGATE_DATA_KEY",
        ]


def test_serve_on_sqlite_makes_the_file_and_a_restart_keeps_the_session(tmp_path: Path) -> None:
    server = ServerProcess(server_env(tmp_path), tmp_path / "server.log", workers=2)
    server.env.pop("OTPGATE_SECRETS_FILE", None)
    live = Live(server=server, key=production_key(server), db_path=tmp_path / "otpgate.db")
    with server, live.client() as c:
        r = c.post(
            "/api/evaluation",
            json={
                "id": "s-1",
                "workflow": "otp_verification",
                "data": {"individual": {"phone_number": PHONE}},
            },
        )
        assert r.status_code == 200, r.text
        eval_id = r.json()["eval_id"]
        code = live.last_code(PHONE)
    assert stat.S_IMODE((tmp_path / "var" / "secrets").stat().st_mode) == 0o600
    with server, live.client() as c:
        body = {"id": "v-1", "data": {"individual": {"otp": {"code": code}}}}
        ok = c.patch(f"/api/evaluation/{eval_id}", json=body)
        assert ok.status_code == 200, ok.text
        assert ok.json()["decision"] == "ACCEPT"
