"""Server processes and the load generator, each stopped and cleaned up for sure."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import usage

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).resolve().parent / "lua"
# The status each flow must answer; anything else counts as unexpected.
EXPECTED = {
    "bare": "200",
    "sqlite_write": "200",
    "start": "200",
    "verify_wrong": "400",
    "verify_right": "200",
    "get": "200",
    "gateway_wrong": "200",
    "sponsor_wrong": "422",
}
# Bench-only otpgate settings (run.py's docstring says why), the same for every stage.
BENCH_SETTINGS = {
    "OTPGATE_OTP_MAX_ATTEMPTS": "100",
    "OTPGATE_VERIFY_LIMIT_PER_MINUTE": "10000",
    "OTPGATE_OTP_TTL_SECONDS": "3600",
    # Production keys deliver to the outbox, as `make run` has it (the default since the
    # environment wall is off: with no provider a production send would fail).
    "OTPGATE_PRODUCTION_OUTBOX": "true",
    # The same for the sponsor API's own limits (its wrong-code flow, bench/apis.py).
    "OTPGATE_SPONSOR_OTP_MAX_ATTEMPTS": "100",
    "OTPGATE_SPONSOR_SENDS_PER_HOUR": "10000",
    "OTPGATE_SPONSOR_CLIENT_REQUESTS_PER_MINUTE": "100000",
    # The guard stays on: every start pays its number checks and its counting (one
    # multi-row upsert and one read). Its thresholds are lifted, as the attempt limit is:
    # the failure budget would lock the seeded destinations the wrong-code flow guesses
    # at again and again, and thousands of unverified starts a second to one country are
    # exactly what its velocity and conversion signals refuse.
    "OTPGATE_GUARD_FAILURES_PER_HOUR": "10000",
    "OTPGATE_GUARD_PREFIX_SENDS_PER_HOUR": "10000000",
    "OTPGATE_GUARD_COUNTRY_SENDS_PER_HOUR": "10000000",
    "OTPGATE_GUARD_TENANT_SENDS_PER_HOUR": "10000000",
    "OTPGATE_GUARD_TENANT_SENDS_PER_DAY": "100000000",
    "OTPGATE_GUARD_PREFIX_CONVERSION_MIN_SENDS": "10000000",
    "OTPGATE_GUARD_COUNTRY_CONVERSION_MIN_SENDS": "10000000",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process in its own process group; ``stop()`` ends the whole group."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path, port: int):
        self.argv, self.env, self.cwd, self.log_path, self.port = argv, env, cwd, log, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str, timeout: float = 60.0) -> Server:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not become ready; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def python_env(extra: dict[str, str]) -> dict[str, str]:
    """This checkout's code first on the path, whatever the virtualenv has installed."""
    return {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", **extra}


def uvicorn_argv(app: str, port: int, workers: int) -> list[str]:
    """The floors' server: what ``otpgate serve`` runs, flag for flag."""
    return [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def create_key(env: dict[str, str], cwd: Path) -> str:
    """A production API key of tenant "bench" (``otpgate keys create`` also migrates)."""
    done = subprocess.run(
        [sys.executable, "-m", "otpgate", "keys", "create", "--environment", "production",
         "--tenant", "bench"],
        env=env, cwd=cwd, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def serve_argv(port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "otpgate", "serve", "--port", str(port),
            "--workers", str(workers)]  # fmt: skip


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Load:
    """One wrk instance: ``lua/common.lua`` + ``lua/<script>.lua`` against ``url``."""

    url: str
    script: str
    args: list[str]
    connections: int
    threads: int


def wrk_argv(load: Load, duration: int, workdir: Path) -> list[str]:
    combined = workdir / f"{load.script}.lua"
    text = "\n".join((LUA / name).read_text() for name in ("common.lua", f"{load.script}.lua"))
    # Never rewrite it under a wrk that is reading it (parallel instances share the file).
    if not combined.exists() or combined.read_text() != text:
        combined.write_text(text)
    return [
        "wrk", "-t", str(load.threads), "-c", str(load.connections), "-d", f"{duration}s",
        "--timeout", "10s", "-s", str(combined), load.url, "--", *load.args,
    ]  # fmt: skip


def parse_wrk(stdout: str, stderr: str) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                statuses=data["statuses"],
                errors=data["errors"],
            )
    raise RuntimeError(f"wrk gave no result:\n{stdout}\n{stderr}")


def wrk(
    url: str,
    script: str,
    args: list[str],
    *,
    connections: int,
    threads: int,
    duration: int,
    workdir: Path,
) -> WrkResult:
    """Run one ``wrk``; parse its JSON line."""
    argv = wrk_argv(Load(url, script, args, connections, threads), duration, workdir)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    return parse_wrk(done.stdout, done.stderr)


def wrk_parallel(
    loads: list[Load], *, duration: int, workdir: Path, watch: usage.Watch
) -> tuple[list[WrkResult], usage.Usage]:
    """Run the ``wrk`` instances at once; CPU use sampled from 1 s in to 1 s before the end.

    Every instance is killed if anything goes wrong (or takes more than ``duration + 60``).
    """
    procs: list[subprocess.Popen[str]] = []
    try:
        for load in loads:
            argv = wrk_argv(load, duration, workdir)
            procs.append(
                subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            )
        watch.wrk_pids = {p.pid for p in procs}
        t0 = time.monotonic()
        margin = 1.0 if duration > 3 else 0.0
        time.sleep(margin)
        first = usage.snapshot(watch)
        time.sleep(max(0.0, t0 + duration - margin - time.monotonic()))
        used = usage.between(first, usage.snapshot(watch))
        outputs = [p.communicate(timeout=duration + 60) for p in procs]
        return [parse_wrk(out, err) for out, err in outputs], used
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        watch.wrk_pids = set()
