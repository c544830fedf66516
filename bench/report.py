"""The bench's figures as Markdown, written between markers in docs/benchmarks.md."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path

from bench.procs import WrkResult
from bench.usage import Usage

FLOWS = [
    ("bare", "floor: bare Starlette JSON", None),
    ("sqlite_write", "floor: Starlette + SQLite INSERT+UPDATE", None),
    ("start", "otpgate start (POST, outbox delivery)", "sqlite_write"),
    ("verify_wrong", "otpgate verify, wrong code (PATCH → 400)", "sqlite_write"),
    ("verify_right", "otpgate verify, right code (PATCH → 200)", "sqlite_write"),
    ("get", "otpgate GET evaluation", "bare"),
    ("gateway_wrong", "otpgate gateway continue, wrong code (→ 200 FAIL)", "verify_wrong"),
    ("sponsor_wrong", "otpgate sponsor validate, wrong code (→ 422)", "verify_wrong"),
]


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
        wrk = wrk.split("[")[0].strip() or "wrk"
    except OSError:
        wrk = "wrk"
    versions = ", ".join(
        f"{p} {metadata.version(p)}" for p in ("uvicorn", "uvloop", "httptools", "starlette")
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}; {versions}; {wrk}"
    )


def render(
    results: dict[str, dict[int, WrkResult]],
    used: dict[str, dict[int, Usage]],
    growth: dict[str, WrkResult],
    opts: argparse.Namespace,
    command: str,
    when: str,
) -> str:
    out = [
        f"Command: `{command}` — {when}, {opts.duration} s per flow and level, "
        f"{opts.workers} uvicorn workers for every server, wrk with {opts.threads} threads "
        "on the same machine.",
        "",
        f"Machine: {machine()}.",
        "",
        "| flow | conns | req/s | p50 ms | p99 ms | ratio | unexpected "
        "| CPU server · wrk · other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label, floor in FLOWS:
        for conns, r in sorted(results.get(name, {}).items()):
            ratio = ""
            base = results.get(floor or "", {}).get(conns)
            if base is not None:
                ratio = f"{r.rps / base.rps:.2f}x {floor}"
            expected = {"verify_wrong": "400", "sponsor_wrong": "422"}.get(name, "200")
            odd = sum(v for k, v in r.statuses.items() if k != expected)
            odd += sum(r.errors.values()) - r.errors.get("status", 0)
            cpu = ""
            u = used.get(name, {}).get(conns)
            if u is not None:
                cpu = f"{u.groups['servers']:.0f} · {u.groups['wrk']:.0f} · {u.other:.0f} %"
            out.append(
                f"| {label} | {conns} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
                f"| {ratio} | {odd} | {cpu} |"
            )
    if growth:
        out += [
            "",
            "Flat cost as data grows (wrong-code verify, "
            f"{opts.connections[0]} connections, same flow and settings):",
            "",
            "| stored sessions | req/s | p50 ms | p99 ms | p50 vs 1,000 |",
            "|---:|---:|---:|---:|---:|",
        ]
        first = next(iter(growth.values()))
        for size, r in growth.items():
            out.append(
                f"| {size} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
                f"| {r.p50_ms / first.p50_ms:.2f}x |"
            )
    return "\n".join(out)


def write(path: Path, table: str, marker: str = "results") -> None:
    """Replace what stands between ``<!-- bench:MARKER:start/end -->`` (added if missing)."""
    start, end = f"<!-- bench:{marker}:start -->", f"<!-- bench:{marker}:end -->"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    _old, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{table}\n{end}{tail}")


def render_workers(
    scaling: dict[str, WrkResult],
    opts: argparse.Namespace,
    command: str,
    when: str,
) -> str:
    """1 worker against 2 on one SQLite database (keys ``flow:workers``)."""
    labels = {name: label for name, label, _floor in FLOWS}
    out = [
        f"Command: `{command}` — {when}, {opts.duration} s per flow, "
        f"{opts.connections[0]} connections, wrk with {opts.threads} threads; one SQLite "
        "database, `otpgate serve --workers 1`, then `--workers 2`.",
        "",
        "| flow | 1 worker req/s · p99 ms | 2 workers req/s · p99 ms | 2 vs 1 |",
        "|---|---:|---:|---:|",
    ]
    for flow in dict.fromkeys(key.partition(":")[0] for key in scaling):  # in run order
        one, two = scaling.get(f"{flow}:1"), scaling.get(f"{flow}:2")
        if one is None or two is None:
            continue
        out.append(
            f"| {labels.get(flow, flow)} | {one.rps:,.0f} · {one.p99_ms:.0f} "
            f"| {two.rps:,.0f} · {two.p99_ms:.0f} | {two.rps / one.rps:.2f}x |"
        )
    return "\n".join(out)
