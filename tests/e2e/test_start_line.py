"""``otpgate serve`` says in one line, once it answers, where it is and what it uses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import SRC, free_port

pytestmark = pytest.mark.e2e


def serve_until_line(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[str, str]:
    """Start ``otpgate serve``; return its start line and the base URL it names."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "otpgate", "serve", "--port", str(port), *args],
        env={**os.environ, "PYTHONPATH": str(SRC), **env},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and not line.startswith("otpgate ready"):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "serve exited without a start line"
        assert line.startswith("otpgate ready"), line
        # Ready means ready: the URL answers at once, no retry.
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        return line.strip(), base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_prints_one_line_when_ready(tmp_path):
    db = tmp_path / "start.db"
    line, base = serve_until_line(
        tmp_path,
        {"OTPGATE_DATABASE_URL": f"sqlite:///{db}", "OTPGATE_REDIS_URL": ""},
    )
    assert line == (
        f"otpgate ready: {base} | database sqlite:///{db} | redis off | "
        f"demo page on ({base}/) | production outbox off | docs {base}/docs"
    )


def test_the_line_hides_credentials_and_says_what_is_off(tmp_path):
    # Redis is named but not needed to start: the limiter falls back to the database.
    line, base = serve_until_line(
        tmp_path,
        {
            "OTPGATE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            "OTPGATE_REDIS_URL": "redis://:hunter2-secret@127.0.0.1:1/0",
            "OTPGATE_DEMO_ENABLED": "false",
        },
        "--workers",
        "2",
    )
    assert "hunter2" not in line
    assert "redis on (redis://127.0.0.1:1/0)" in line
    assert "demo page off" in line
    assert line.endswith(f"docs {base}/docs")
