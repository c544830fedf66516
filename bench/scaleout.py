"""Scale-out stage: otpgate on PostgreSQL + Redis, 1 process vs 2, and the bare floor's own 1 → 2.

Two independent single-worker ``otpgate serve`` processes (A and B, each its own port,
its own connection pool, sharing only the scratch PostgreSQL database and the Redis key
prefix), and two single-worker floor processes (bare Starlette), are started once and stay
up. Every measurement runs **two wrk instances at once**, each with 1 thread and half the
connections; for "1 process" both drive A (B idles), for "2 processes" one drives A and
one drives B. The load generator is thus identical in both cases; only the number of
server processes sharing the work changes, as when a load balancer spreads connections
over separate hosts or containers. (``--workers 2`` would instead share one listening
socket and let the kernel pick the worker for each connection, and adds uvicorn's
supervisor; it is a deployment detail of one host rather than scale-out.)

The 1- and 2-process runs of a flow follow each other within seconds, alternating which
goes first per round, so the ratio is measured in the same minute even on a shared box.
CPU use (``bench/usage.py``) is sampled during each run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench import usage
from bench.procs import (
    BENCH_SETTINGS,
    EXPECTED,
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
from bench.seed import secret_env, seed_postgres, tenant_id_postgres, write_pool
from bench.services import scratch

FLOWS = ("bare", "start", "verify_wrong", "get")
LABELS = {
    "bare": "floor: bare Starlette JSON",
    "start": "otpgate start (POST)",
    "verify_wrong": "otpgate verify, wrong code (PATCH → 400)",
    "get": "otpgate GET evaluation",
}
SCRIPTS = {"bare": "bare", "start": "start", "verify_wrong": "verify", "get": "get"}
TARGET = 1.7


@dataclass(frozen=True)
class Sample:
    flow: str
    procs: int
    round: int
    results: list[WrkResult]  # one per wrk instance
    used: usage.Usage

    @property
    def rps(self) -> float:
        return sum(r.rps for r in self.results)

    @property
    def unexpected(self) -> int:
        odd = 0
        for r in self.results:
            odd += sum(v for k, v in r.statuses.items() if k != EXPECTED[self.flow])
            odd += sum(r.errors.values()) - r.errors.get("status", 0)
        return odd


class ScaleOut:
    def __init__(self, opts: argparse.Namespace, work: Path) -> None:
        self.opts = opts
        self.work = work
        self.flows = [f for f in FLOWS if f in opts.flows]
        self.samples: list[Sample] = []
        self.database = ""
        self.redis_keys = 0
        self.fallbacks = 0  # times a server found Redis too slow or down (logged once each)

    def run(self) -> list[Sample]:
        if not self.flows:
            return self.samples
        with ExitStack() as stack:
            db = stack.enter_context(scratch())
            self.database = db.database
            secret = secrets.token_bytes(32)
            env = python_env(
                {
                    "OTPGATE_DATABASE_URL": db.dsn,
                    "OTPGATE_REDIS_URL": db.redis_url,
                    "OTPGATE_REDIS_KEY_PREFIX": db.redis_prefix,
                    **secret_env(secret),
                    **BENCH_SETTINGS,
                }
            )
            key = create_key(env, self.work)
            t0 = time.monotonic()
            rows = seed_postgres(
                db.dsn,
                tenant_id=tenant_id_postgres(db.dsn, "bench"),
                secret=secret,
                count=self.opts.wrong_pool,
                max_attempts=100,
                ttl=3600,
                prefix="wrong",
            )
            half = len(rows) // 2
            pools = [
                write_pool(self.work / f"so-wrong-{i}.txt", part, wrong=True)
                for i, part in enumerate((rows[:half], rows[half:]))
            ]
            print(
                f"scale-out: PostgreSQL database {db.database}, Redis prefix {db.redis_prefix}, "
                f"{len(rows):,} evaluations seeded in {time.monotonic() - t0:.1f} s",
                flush=True,
            )
            floors: list[Server] = []
            if "bare" in self.flows:
                for name in ("floor-a", "floor-b"):
                    port = free_port()
                    floor_env = python_env({"BENCH_FLOOR_DB": str(self.work / f"{name}.db")})
                    srv = Server(uvicorn_argv("bench.floors:app", port, 1), floor_env, self.work,
                                 self.work / f"{name}.log", port)  # fmt: skip
                    floors.append(stack.enter_context(srv.start("/bare")))
            gates: list[Server] = []
            for name in ("otpgate-a", "otpgate-b"):  # one after the other: each migrates first
                port = free_port()
                srv = Server(serve_argv(port, 1), env, self.work, self.work / f"{name}.log", port)
                gates.append(stack.enter_context(srv.start("/readyz")))
            watch = usage.Watch(
                server_pgids={s.proc.pid for s in floors + gates if s.proc is not None},
                database=db.database,
            )
            for rnd in range(self.opts.scaleout_rounds):
                for flow in self.flows:
                    targets = floors if flow == "bare" else gates
                    for procs in (1, 2) if rnd % 2 == 0 else (2, 1):
                        self._measure(flow, procs, rnd, targets, key, pools, watch)
                        if flow in ("start", "verify_wrong"):  # counters expire each minute
                            keys = _count_keys(db.redis_url, db.redis_prefix)
                            self.redis_keys = max(self.redis_keys, keys)
            for name in ("otpgate-a", "otpgate-b"):
                log = (self.work / f"{name}.log").read_text(errors="replace")
                self.fallbacks += log.count("limiter.primary_unavailable")
            print(
                f"scale-out: up to {self.redis_keys} Redis keys under the prefix after a run; "
                f"{self.fallbacks} switches to the database limiter in the servers' logs",
                flush=True,
            )
        return self.samples

    def _measure(
        self,
        flow: str,
        procs: int,
        rnd: int,
        targets: list[Server],
        key: str,
        pools: list[Path],
        watch: usage.Watch,
    ) -> None:
        conns = max(1, self.opts.scaleout_connections // 2)
        loads = []
        for i in range(2):
            url = targets[i if procs == 2 else 0].url
            tag = f"so-{flow}-{procs}-{rnd}-{i}-{secrets.token_hex(3)}"
            args = {
                "bare": [tag],
                "start": [tag, key],
                "verify_wrong": [tag, key, str(pools[i]), "1"],
                "get": [tag, key, str(pools[i]), "1"],
            }[flow]
            loads.append(Load(url, SCRIPTS[flow], args, conns, 1))
        results, used = wrk_parallel(
            loads, duration=self.opts.duration, workdir=self.work, watch=watch
        )
        sample = Sample(flow, procs, rnd, results, used)
        self.samples.append(sample)
        g = used.groups
        print(
            f"  {flow:13} {procs} proc  {sample.rps:9.0f} req/s "
            f"({' + '.join(f'{r.rps:.0f}' for r in results)})  p99 "
            f"{max(r.p99_ms for r in results):7.2f} ms  CPU servers {g['servers']:.0f}% "
            f"pg {g['postgres']:.0f}% redis {g['redis']:.0f}% wrk {g['wrk']:.0f}% "
            f"other {used.other:.0f}% (machine {used.machine:.0f}%)"
            + (f"  UNEXPECTED {sample.unexpected}" if sample.unexpected else ""),
            flush=True,
        )


def _count_keys(url: str, prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        return sum(1 for _ in client.scan_iter(match=f"{prefix}*", count=1000))
    finally:
        client.close()


def _pct(v: float) -> str:
    return f"{v:.1f}" if 0 < v < 9.95 else f"{v:.0f}"


def _bound(two: list[Sample]) -> float:
    """The best 1 → 2 ratio this box allows, from the 2-process runs' CPU per request.

    One process can use at most one core: 1000/s req/s for s server-ms per request.
    Everything a request costs (server s, PostgreSQL, Redis, wrk: t ms in all) must fit
    in the 2 cores: 2000/t. So 1 process ≤ min(1000/s, 2000/t), 2 ≤ min(2000/s, 2000/t).
    """
    cores = os.cpu_count() or 1

    def ms(group: str) -> float:
        return statistics.mean(
            x.used.groups[group] / 100 * cores * 1000 / max(x.rps, 1e-9) for x in two
        )

    server = max(ms("servers"), 1e-9)
    total = server + ms("postgres") + ms("redis") + ms("wrk")
    one = min(1000 / server, cores * 1000 / total)
    return min(2 * 1000 / server, cores * 1000 / total) / one


def _per_request(s: Sample) -> float:
    """PostgreSQL's CPU milliseconds per request in one run."""
    return s.used.groups["postgres"] / 100 * (os.cpu_count() or 1) * 1000 / max(s.rps, 1e-9)


def _ms(share: float, rps: float) -> str:
    """CPU milliseconds per request from a share of all cores and a request rate."""
    return f"{share / 100 * (os.cpu_count() or 1) * 1000 / rps:.2f}" if rps else "-"


def render(stage: ScaleOut, opts: argparse.Namespace, command: str, when: str) -> str:
    """The per-run table, then the 1 → 2 ratios per flow."""
    samples = stage.samples
    conns = max(1, opts.scaleout_connections // 2) * 2
    out = [
        f"Command: `{command}` — {when}, {opts.duration} s per run, "
        f"{opts.scaleout_rounds} rounds; each run is two wrk instances at once (1 thread, "
        f"{conns // 2} connections each, {conns} in all) against 1 or 2 single-worker "
        "processes. CPU: average share of the machine's 2 cores during the run "
        "(100 % = both cores busy), from `/proc`.",
        "",
        f"Redis in use: up to {stage.redis_keys:,} rate-counter keys under the run's prefix "
        f"after a start/verify run; {stage.fallbacks} switches to the database limiter in the "
        "servers' logs.",
        "",
        "| flow | procs | round | req/s | per wrk | p50 ms | p99 ms | CPU servers | PostgreSQL "
        "| Redis | wrk | other | machine | unexpected |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for flow in FLOWS:
        for s in sorted((s for s in samples if s.flow == flow), key=lambda s: (s.round, s.procs)):
            g = s.used.groups
            out.append(
                f"| {LABELS[flow]} | {s.procs} | {s.round + 1} | {s.rps:,.0f} "
                f"| {' + '.join(f'{r.rps:,.0f}' for r in s.results)} "
                f"| {max(r.p50_ms for r in s.results):.2f} "
                f"| {max(r.p99_ms for r in s.results):.2f} "
                f"| {_pct(g['servers'])} % | {_pct(g['postgres'])} % | {_pct(g['redis'])} % "
                f"| {_pct(g['wrk'])} % | {_pct(s.used.other)} % | {_pct(s.used.machine)} % "
                f"| {s.unexpected} |"
            )
    out += [
        "",
        f"1 → 2 processes (target for otpgate: ≥ {TARGET}x):",
        "",
        "Box bound: the best ratio 2 cores allow given the CPU per request measured in "
        "the 2-process runs (one process uses at most one core; server, PostgreSQL, Redis "
        "and wrk together at most two), whatever other work does.",
        "",
        "| flow | 1 process req/s | 2 processes req/s | ratio per round | ratio of means "
        "| servers' CPU 1 → 2 | machine CPU 1 → 2 | server CPU ms/request 1 → 2 "
        "| PostgreSQL CPU ms/request | box bound |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for flow in FLOWS:
        one = [s for s in samples if s.flow == flow and s.procs == 1]
        two = [s for s in samples if s.flow == flow and s.procs == 2]
        if not one or not two:
            continue
        per_round = []
        for a in one:
            b = next((s for s in two if s.round == a.round), None)
            if b is not None:
                per_round.append(f"{b.rps / a.rps:.2f}x")
        r1 = statistics.mean(s.rps for s in one)
        r2 = statistics.mean(s.rps for s in two)
        c1 = statistics.mean(s.used.groups["servers"] for s in one)
        c2 = statistics.mean(s.used.groups["servers"] for s in two)
        m1 = statistics.mean(s.used.machine for s in one)
        m2 = statistics.mean(s.used.machine for s in two)
        pg = "" if flow == "bare" else f"{statistics.mean(_per_request(s) for s in one + two):.2f}"
        out.append(
            f"| {LABELS[flow]} | {r1:,.0f} | {r2:,.0f} | {', '.join(per_round)} "
            f"| **{r2 / r1:.2f}x** | {c1:.0f} → {c2:.0f} % | {m1:.0f} → {m2:.0f} % "
            f"| {_ms(c1, r1)} → {_ms(c2, r2)} | {pg} | {_bound(two):.2f}x |"
        )
    return "\n".join(out)
