"""CPU time per request, in-process (``python bench/cpu.py``): a load-independent check.

The machine this runs on is often shared, so wall-clock figures move with other
work; ``time.process_time`` per request moves much less. Used to measure each
optimisation; ``make bench`` gives the real figures.

By default the requests go through httpx's in-process transport, whose own calls (about
1,300 a request) are counted too; ``--asgi`` calls the application directly with a
hand-built ASGI scope, so the counts are the server's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import json
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src")]
sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from bench.seed import lookup_key_for, seed, tenant_id_of  # noqa: E402
from otpgate.adapters.sql.database import SqliteDatabase  # noqa: E402
from otpgate.core.model import Environment  # noqa: E402
from otpgate.settings import Settings  # noqa: E402
from otpgate.testing.app import running_app  # noqa: E402

N = 300


class _Answer:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class AsgiClient:
    """The three calls cpu.py makes, sent straight to the ASGI app (no HTTP client)."""

    def __init__(self, app: Any, key: str) -> None:
        self.app = app
        self.auth = f"Bearer {key}".encode()

    async def _call(self, method: str, path: str, body: Any = None) -> _Answer:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = [(b"host", b"otpgate.test"), (b"authorization", self.auth)]
        if body is not None:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(raw)),
            ]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        }  # fmt: skip
        messages = [{"type": "http.request", "body": raw, "more_body": False}]
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client never leaves
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await self.app(scope, receive, send)
        return _Answer(status[0])

    async def get(self, path: str) -> _Answer:
        return await self._call("GET", path)

    async def patch(self, path: str, json: Any) -> _Answer:
        return await self._call("PATCH", path, json)

    async def post(self, path: str, json: Any) -> _Answer:
        return await self._call("POST", path, json)


async def main(asgi: bool) -> None:
    tmp = tempfile.mkdtemp(prefix="otpgate-cpu-")
    db = f"{tmp}/otpgate.db"
    secret = secrets.token_bytes(32)
    settings = Settings(
        database_url=f"sqlite:///{db}",
        code_secret=base64.b64encode(secret).decode(),
        lookup_key=base64.b64encode(lookup_key_for(secret)).decode(),
        otp_max_attempts=100,
        verify_limit_per_minute=10_000,
        # As make bench: the guard on, its thresholds out of the way (bench/procs.py).
        guard_failures_per_hour=10_000,
        guard_prefix_sends_per_hour=10_000_000,
        guard_country_sends_per_hour=10_000_000,
        guard_tenant_sends_per_hour=10_000_000,
        guard_prefix_conversion_min_sends=10_000_000,
        guard_country_conversion_min_sends=10_000_000,
        _env_file=None,  # type: ignore[call-arg]
    )
    async with running_app(settings) as h:
        key = (await h.services.accounts.create_key("bench", Environment.PRODUCTION)).key
        tenant = tenant_id_of(db, "bench")
        rows = seed(
            db, tenant_id=tenant, secret=secret, count=2 * N, max_attempts=100, ttl=3600, prefix="c"
        )
        counts = {"sql": 0, "commit": 0}

        def on_sql(*_a: object) -> None:
            counts["sql"] += 1

        def on_commit(*_a: object) -> None:
            counts["commit"] += 1

        # The hot path runs on the raw sqlite3 connection (adapters/sql/database.py): count the
        # statements it executes there, and its COMMITs.
        database = h.services.database
        assert isinstance(database, SqliteDatabase)
        raw = database.conn

        def trace(statement: str) -> None:
            if statement.startswith("COMMIT"):
                on_commit()
            elif not statement.startswith(("BEGIN", "ROLLBACK")):
                on_sql()

        raw.set_trace_callback(trace)
        async with h.client(key) as http:
            c: Any = AsgiClient(h.app, key) if asgi else http

            async def timed(name: str, call: object) -> None:
                t0, c0 = time.perf_counter(), time.process_time()
                status = 0
                for i in range(N - 20):
                    status = (await call(i)).status_code  # type: ignore[operator]
                cpu = (time.process_time() - c0) / (N - 20) * 1e6
                wall = (time.perf_counter() - t0) / (N - 20) * 1e6
                counts.update(sql=0, commit=0)
                profile = cProfile.Profile()
                profile.enable()
                for i in range(N - 20, N):
                    await call(i)  # type: ignore[operator]
                profile.disable()
                profile.dump_stats(f"{tmp}/{name}.prof")
                calls = pstats.Stats(profile).total_calls / 20  # type: ignore[attr-defined]
                print(
                    f"{name:13} {counts['sql'] / 20:4.1f} statements {counts['commit'] / 20:4.1f} "
                    f"commits {calls:7.0f} Python calls {cpu:6.0f} µs CPU {wall:6.0f} µs wall "
                    f"(last {status})"
                )

            def wrong(i: int) -> str:
                return f"{(int(rows[i].code) + 1) % 10**6:06d}"

            await c.get(f"/api/evaluation/{rows[0].eval_id}")
            await timed("get", lambda i: c.get(f"/api/evaluation/{rows[i].eval_id}"))
            await timed(
                "verify_wrong",
                lambda i: c.patch(
                    f"/api/evaluation/{rows[i].eval_id}",
                    json={"id": f"w{i}", "data": {"individual": {"otp": {"code": wrong(i)}}}},
                ),
            )
            await timed(
                "verify_right",
                lambda i: c.patch(
                    f"/api/evaluation/{rows[N + i].eval_id}",
                    json={
                        "id": f"r{i}",
                        "data": {"individual": {"otp": {"code": rows[N + i].code}}},
                    },
                ),
            )
            await timed(
                "start",
                lambda i: c.post(
                    "/api/evaluation",
                    json={
                        "id": f"s{i}",
                        "workflow": "otp_verification",
                        "data": {"individual": {"phone_number": f"+1415{2_000_000 + i:07d}"}},
                    },
                ),
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--asgi", action="store_true", help="count the server's calls alone")
    asyncio.run(main(parser.parse_args().asgi))
