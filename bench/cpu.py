"""CPU time per request, in-process (``python bench/cpu.py``): a load-independent check.

The machine this runs on is often shared, so wall-clock figures move with other
work; ``time.process_time`` per request moves much less. Used to measure each
optimisation; ``make bench`` gives the real figures.
"""

from __future__ import annotations

import asyncio
import base64
import cProfile
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src")]
sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from bench.seed import lookup_key_for, seed, tenant_id_of  # noqa: E402
from otpgate.adapters.sql.database import SqliteDatabase  # noqa: E402
from otpgate.core.model import Environment  # noqa: E402
from otpgate.settings import Settings  # noqa: E402
from otpgate.testing.app import running_app  # noqa: E402

N = 300


async def main() -> None:
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
        async with h.client(key) as c:

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
    asyncio.run(main())
