"""The deployment files, exercised as far as a machine without Docker allows.

The container entrypoint (migrate, then serve) runs for real against a fresh PostgreSQL
database and Redis, and the image's HEALTHCHECK command is run against it. The compose
file and the nginx config are checked to describe the same replicas.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from tests.support.pgdb import fresh_database
from tests.support.server import SRC, free_port
from tests.support.services import require_postgres, require_redis

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def healthcheck_command() -> str:
    dockerfile = (ROOT / "Dockerfile").read_text()
    found = re.search(r"HEALTHCHECK .*?\\\n\s*CMD (.+)", dockerfile)
    assert found, "the Dockerfile has no HEALTHCHECK CMD"
    return found.group(1).strip()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    with fresh_database(require_postgres(), prefix="otpgate_deploy") as url:
        port = str(free_port())
        env = {
            **os.environ,
            "PYTHONPATH": str(SRC),
            "PYTHON": sys.executable,
            # The image has ``python`` on PATH; here it is this interpreter.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PORT": port,
            "HOST": "127.0.0.1",
            "OTPGATE_DATABASE_URL": url,
            "OTPGATE_REDIS_URL": require_redis(),
            "OTPGATE_LOG_LEVEL": "warning",
        }
        yield env, url


def test_the_entrypoint_migrates_then_serves_and_the_healthcheck_sees_it(
    deployment: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, url = deployment
    log = open(tmp_path / "entrypoint.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        ["sh", str(ROOT / "deploy" / "entrypoint.sh")],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    check = ["sh", "-c", healthcheck_command()]
    try:
        deadline = time.monotonic() + 120
        while subprocess.run(check, env=env, capture_output=True).returncode != 0:
            assert proc.poll() is None, (tmp_path / "entrypoint.log").read_text()
            assert time.monotonic() < deadline, "the healthcheck never passed"
            time.sleep(0.3)
        ready = httpx.get(f"http://127.0.0.1:{env['PORT']}/readyz").json()
        assert ready["database_backend"] == "postgresql" and ready["redis"] == "ok"
        with psycopg.connect(url) as conn:
            (head,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        assert head.isdigit()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    # The server is gone: the healthcheck now fails.
    assert subprocess.run(check, env=env, capture_output=True).returncode != 0


def test_the_entrypoint_passes_other_commands_to_the_cli(
    deployment: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, _ = deployment
    done = subprocess.run(
        ["sh", str(ROOT / "deploy" / "entrypoint.sh"), "purge", "--older-than", "7d"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "verification_sessions: 0 deleted" in done.stdout


def test_compose_and_nginx_describe_the_same_replicas() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "otpgate-1", "otpgate-2", "lb"} <= set(services)
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    upstreams = re.findall(r"server (otpgate-\d+):(\d+)", nginx)
    assert {name for name, _ in upstreams} == {"otpgate-1", "otpgate-2"}
    for name, port in upstreams:
        env = services[name]["environment"]
        assert env["OTPGATE_DEMO_ENABLED"] == "false"
        assert env["OTPGATE_PRODUCTION_OUTBOX"] == "false"
        assert env["OTPGATE_DATABASE_URL"].startswith("postgresql://")
        assert env["OTPGATE_REDIS_URL"].startswith("redis://")
        assert port == "8000"
    listen = re.search(r"listen (\d+);", nginx)
    assert listen and services["lb"]["ports"] == [f"{listen.group(1)}:{listen.group(1)}"]
    assert shlex.split(healthcheck_command())[0] == "python"


def test_the_image_runs_with_the_demo_and_the_production_outbox_off() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "OTPGATE_DEMO_ENABLED=false" in dockerfile
    assert "OTPGATE_PRODUCTION_OUTBOX=false" in dockerfile
    assert "OTPGATE_HEADER_TIMEOUT_SECONDS=" in dockerfile
