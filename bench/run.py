"""``make bench``: otpgate against two floors, in one run, on one machine.

Stages (``--stages``, all by default; ``make bench BENCH_ARGS="--stages scaleout"``):

- ``sqlite``: real server processes (uvicorn, same worker count, uvloop + httptools
  for all) — the floors and otpgate on SQLite — driven by ``wrk`` at each
  concurrency level for a bounded time;
- ``scaleout``: otpgate on PostgreSQL + Redis, 1 process vs 2, with the bare floor's
  own 1 → 2 scaling in the same minutes (``bench/scaleout.py``);
- ``growth``: wrong-code verify with 1,000 stored sessions, then ``--scale``;
- ``workers``: otpgate on SQLite with 1 uvicorn worker, then 2, the same flows on one
  database (the target: 2 workers do at least 1.3 times the requests of one).

Each run reports requests/s, p50/p99 latency, ratios to the floors and CPU use
(``bench/usage.py``), written into ``docs/benchmarks.md`` between the
``bench:results``, ``bench:scaleout`` and ``bench:workers`` markers.

Bench-only settings (said again in the report): ``OTPGATE_OTP_MAX_ATTEMPTS=100``
and ``OTPGATE_VERIFY_LIMIT_PER_MINUTE=10000`` (and the guard's failure budget
``OTPGATE_GUARD_FAILURES_PER_HOUR=10000``) so that the wrong-code flow can
hammer a pool of pending evaluations; ``OTPGATE_OTP_TTL_SECONDS=3600`` so seeded
sessions outlive the run. The send limit stays at its default: the start flow
spreads its sends over 8 million random phone numbers instead.
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src")]
sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from bench import apis, report, scaleout, usage  # noqa: E402
from bench.procs import (  # noqa: E402
    BENCH_SETTINGS,
    EXPECTED,
    ROOT,
    Load,
    Server,
    WrkResult,
    create_key,
    free_port,
    python_env,
    serve_argv,
    uvicorn_argv,
    wrk_parallel,
)
from bench.scaleout import ScaleOut  # noqa: E402
from bench.seed import secret_env, seed, tenant_id_of, write_pool  # noqa: E402

STAGES = ("sqlite", "scaleout", "growth", "workers")


class Bench:
    def __init__(self, opts: argparse.Namespace, work: Path) -> None:
        self.opts = opts
        self.work = work
        self.results: dict[str, dict[int, WrkResult]] = {}
        self.growth: dict[str, WrkResult] = {}
        self.scaling: dict[str, WrkResult] = {}  # "flow:workers" → result
        self.used: dict[str, dict[int, usage.Usage]] = {}
        self.watch = usage.Watch()

    def load(
        self,
        name: str,
        url: str,
        script: str,
        args: list[str],
        conns: int,
        into: str = "",
        table: dict[str, WrkResult] | None = None,
    ) -> WrkResult | None:
        """Run one flow; keep the result under ``results[name][conns]``, or ``growth[into]``
        (``table[into]`` when a table is given)."""
        if name not in self.opts.flows:
            return None
        tag = f"{name}-{conns}-{secrets.token_hex(4)}"
        load = Load(url, script, [tag, *args], conns, self.opts.threads)
        (result,), used = wrk_parallel(
            [load], duration=self.opts.duration, workdir=self.work, watch=self.watch
        )
        if into:
            (self.growth if table is None else table)[into] = result
        else:
            self.results.setdefault(name, {})[conns] = result
            self.used.setdefault(name, {})[conns] = used
        odd = {k: v for k, v in result.statuses.items() if k != EXPECTED[name]}
        print(
            f"  {name:13} c={conns:<4} {result.rps:9.0f} req/s  p50 {result.p50_ms:7.2f} ms"
            f"  p99 {result.p99_ms:7.2f} ms  CPU server {used.groups['servers']:.0f}% "
            f"wrk {used.groups['wrk']:.0f}% other {used.other:.0f}%"
            + (f"  UNEXPECTED {odd}" if odd else ""),
            flush=True,
        )
        return result

    def floors(self) -> None:
        port = free_port()
        env = python_env({"BENCH_FLOOR_DB": str(self.work / "floor.db")})
        argv = uvicorn_argv("bench.floors:app", port, self.opts.workers)
        print("floors (Starlette on uvicorn)", flush=True)
        with Server(argv, env, self.work, self.work / "floors.log", port).start("/bare") as srv:
            self._watch(srv)
            for conns in self.opts.connections:
                self.load("bare", srv.url, "bare", [], conns)
                self.load("sqlite_write", srv.url, "write", [], conns)

    def _otpgate_env(self, db: Path, secret: bytes) -> dict[str, str]:
        return python_env(
            {
                "OTPGATE_DATABASE_URL": f"sqlite:///{db}",
                **secret_env(secret),
                **BENCH_SETTINGS,
                "OTPGATE_GUARD_ENABLED": "false" if self.opts.no_guard else "true",
            }
        )

    def _key(self, env: dict[str, str]) -> str:
        return create_key(env, self.work)

    def _serve(self, env: dict[str, str], name: str, workers: int | None = None) -> Server:
        port = free_port()
        argv = serve_argv(port, workers or self.opts.workers)
        srv = Server(argv, env, self.work, self.work / f"{name}.log", port).start("/readyz")
        self._watch(srv)
        return srv

    def _watch(self, srv: Server) -> None:
        """CPU use of this server's process group (uvicorn's supervisor and workers)."""
        self.watch.server_pgids = {srv.proc.pid} if srv.proc is not None else set()

    def otpgate(self) -> None:
        db, secret = self.work / "otpgate.db", secrets.token_bytes(32)
        env = self._otpgate_env(db, secret)
        key = self._key(env)
        tenant = tenant_id_of(str(db), "bench")
        t0 = time.monotonic()
        common = {"tenant_id": tenant, "secret": secret, "max_attempts": 100, "ttl": 3600}
        wrong = write_pool(
            self.work / "wrong.txt",
            seed(str(db), count=self.opts.wrong_pool, prefix="wrong", **common),
            wrong=True,
        )
        right = {
            c: write_pool(
                self.work / f"right-{c}.txt",
                seed(str(db), count=self.opts.right_pool, prefix=f"right{c}", **common),
                wrong=False,
            )
            for c in self.opts.connections
        }
        print(f"otpgate (seeded in {time.monotonic() - t0:.1f} s)", flush=True)
        t = str(self.opts.threads)
        with self._serve(env, "otpgate") as srv:
            for conns in self.opts.connections:
                self.load("start", srv.url, "start", [key], conns)
                self.load("verify_wrong", srv.url, "verify", [key, str(wrong), t], conns)
                self.load("verify_right", srv.url, "verify", [key, str(right[conns]), t], conns)
                self.load("get", srv.url, "get", [key, str(wrong), t], conns)
            self.other_apis(srv.url, key, t)

    def other_apis(self, url: str, key: str, t: str) -> None:
        """The gateway's and the sponsor API's wrong-code checks, on pools made over HTTP."""
        want = {"gateway_wrong", "sponsor_wrong"} & set(self.opts.flows)
        if not want:
            return
        t0 = time.monotonic()
        size = self.opts.wrong_pool // 4
        gateway = apis.gateway_pool(url, key, size, self.work / "gateway.txt")
        sponsor, token = apis.sponsor_pool(url, key, size, self.work / "sponsor.txt")
        print(f"gateway and sponsor pools made in {time.monotonic() - t0:.1f} s", flush=True)
        for conns in self.opts.connections:
            self.load("gateway_wrong", url, "continue", [str(gateway), t], conns)
            self.load("sponsor_wrong", url, "validate", [token, str(sponsor), t], conns)

    def _fresh(self, name: str) -> tuple[Path, dict[str, str], str, dict[str, Any]]:
        """A new database under ``name``: its environment, a key, and seeding arguments."""
        db, secret = self.work / name, secrets.token_bytes(32)
        env = self._otpgate_env(db, secret)
        key = self._key(env)
        common = {
            "tenant_id": tenant_id_of(str(db), "bench"),
            "secret": secret,
            "max_attempts": 100,
            "ttl": 3600,
        }
        return db, env, key, common

    def workers(self) -> None:
        """1 worker, then 2, on one SQLite database: the same flows, back to back."""
        db, env, key, common = self._fresh("workers.db")
        conns, t = self.opts.connections[0], str(self.opts.threads)
        for n in (1, 2):
            # Pools of their own: every wrong verify adds an enrichment that later answers
            # carry, so a pool the first run used would answer bigger bodies in the second.
            wrong = write_pool(
                self.work / f"workers-wrong-{n}.txt",
                seed(str(db), count=self.opts.wrong_pool, prefix=f"ww{n}", **common),
                wrong=True,
            )
            right = write_pool(
                self.work / f"workers-right-{n}.txt",
                seed(str(db), count=self.opts.right_pool, prefix=f"wr{n}", **common),
                wrong=False,
            )
            print(f"workers: {n} at c={conns}", flush=True)
            with self._serve(env, f"workers-{n}", workers=n) as srv:
                for flow, script, args in (
                    ("start", "start", [key]),
                    ("verify_wrong", "verify", [key, str(wrong), t]),
                    ("verify_right", "verify", [key, str(right), t]),
                    ("get", "get", [key, str(wrong), t]),
                ):
                    self.load(flow, srv.url, script, args, conns, f"{flow}:{n}", self.scaling)

    def scale(self) -> None:
        """Wrong-code verify latency with 1,000 stored sessions, then with ``--scale``."""
        if not self.opts.scale:
            return
        db, env, key, common = self._fresh("scale.db")
        conns, t = self.opts.connections[0], str(self.opts.threads)
        small = write_pool(
            self.work / "scale-small.txt", seed(str(db), count=1000, prefix="s", **common), True
        )
        print(f"scale: verify (wrong code) at c={conns}, 1,000 sessions", flush=True)
        with self._serve(env, "scale-small") as srv:
            self.load("verify_wrong", srv.url, "verify", [key, str(small), t], conns, "1,000")
        t0 = time.monotonic()
        seed(str(db), count=self.opts.scale - 2000, prefix="bulk", want_codes=False, **common)
        large = write_pool(
            self.work / "scale-large.txt", seed(str(db), count=1000, prefix="l", **common), True
        )
        print(
            f"scale: seeded to {self.opts.scale:,} sessions in {time.monotonic() - t0:.0f} s",
            flush=True,
        )
        with self._serve(env, "scale-large") as srv:
            size = f"{self.opts.scale:,}"
            self.load("verify_wrong", srv.url, "verify", [key, str(large), t], conns, size)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--stages",
        nargs="+",
        default=list(STAGES),
        choices=list(STAGES),
        help="sqlite: floors + otpgate on SQLite; scaleout: PostgreSQL + Redis, 1 vs 2 "
        "processes; growth: 1,000 vs --scale sessions; workers: SQLite, 1 vs 2 workers",
    )
    p.add_argument("--duration", type=int, default=10, help="seconds per flow and level")
    p.add_argument("--connections", type=int, nargs="+", default=[32, 128])
    p.add_argument("--workers", type=int, default=2, help="uvicorn workers for every server")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--right-pool", type=int, default=60_000, help="evaluations per level")
    p.add_argument("--wrong-pool", type=int, default=4_000)
    p.add_argument("--scale", type=int, default=1_000_000, help="0 skips the growth check")
    p.add_argument("--scaleout-connections", type=int, default=64, help="in all, both wrks")
    p.add_argument("--scaleout-rounds", type=int, default=3, help="1 vs 2 processes, repeated")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--flows", nargs="+", default=list(EXPECTED), choices=list(EXPECTED))
    p.add_argument("--no-write", action="store_true", help="print only; leave the docs alone")
    p.add_argument(
        "--no-guard",
        action="store_true",
        help="OTPGATE_GUARD_ENABLED=false (to measure what the abuse guard costs a start)",
    )
    opts = p.parse_args()
    if opts.duration < 1 or opts.duration > 600:
        p.error("--duration must be 1..600 seconds")
    if "growth" not in opts.stages:
        opts.scale = 0
    command = "make bench"
    if len(sys.argv) > 1:
        command = "python bench/run.py " + " ".join(sys.argv[1:])
    # A plain `kill` unwinds like Ctrl-C, so every server, database and Redis key goes too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    when = report.now()
    with tempfile.TemporaryDirectory(prefix="otpgate-bench-") as tmp:
        bench = Bench(opts, Path(tmp))
        if "sqlite" in opts.stages:
            if {"bare", "sqlite_write"} & set(opts.flows):
                bench.floors()
            if set(opts.flows) - {"bare", "sqlite_write"}:
                bench.otpgate()
        out = ScaleOut(opts, Path(tmp))
        if "scaleout" in opts.stages:
            out.run()
        bench.scale()
        if "workers" in opts.stages:
            bench.workers()
    tables = {}
    if bench.results or bench.growth:
        tables["results"] = report.render(
            bench.results, bench.used, bench.growth, opts, command, when
        )
    if out.samples:
        tables["scaleout"] = scaleout.render(out, opts, command, when)
    if bench.scaling:
        tables["workers"] = report.render_workers(bench.scaling, opts, command, when)
    for table in tables.values():
        print(table)
    if not opts.no_write:
        for marker, table in tables.items():
            report.write(opts.out, table, marker)
        flat: dict[str, object] = {
            k: {str(c): asdict(r) for c, r in v.items()} for k, v in bench.results.items()
        }
        flat["growth"] = {k: asdict(r) for k, r in bench.growth.items()}
        flat["scaleout"] = [asdict(s) for s in out.samples]
        flat["workers"] = {k: asdict(r) for k, r in bench.scaling.items()}
        (ROOT / "var").mkdir(exist_ok=True)
        (ROOT / "var" / "bench.json").write_text(json.dumps(flat, indent=2))
        print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
