"""CPU use during a load run, from ``/proc``: the whole machine and named process groups.

A snapshot reads ``/proc/stat`` (all cores) and ``/proc/<pid>/stat`` of every process
(utime + stime, all threads). The difference of two snapshots, divided by
the machine's total jiffies over the same span, is each group's share of *all* cores:
100 % means both cores of a 2-core box busy the whole time.

Groups:

- ``servers``: every process in the process groups of the servers under test (they are
  started with ``start_new_session``, so the group id is the server's pid);
- ``wrk``: the load generator processes (all their threads);
- ``postgres``: the PostgreSQL background processes plus the backends connected to the
  bench's own database (other databases' backends belong to other work: "other");
- ``redis``: ``redis-server``;
- ``other``: the machine's busy time not in any group above (other work on a shared box).

A watched process that exits between two snapshots loses its last ticks; none of them
do during a run (the servers' database connections are pooled). Children's times
(cutime) are left out on purpose: PostgreSQL's postmaster collects those of every
database's backends, other work's included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

GROUPS = ("servers", "postgres", "redis", "wrk")


@dataclass(frozen=True)
class Usage:
    """Average share of all cores (0-100 %) per group over one span."""

    machine: float
    groups: dict[str, float]
    seconds: float

    @property
    def other(self) -> float:
        return max(0.0, self.machine - sum(self.groups.values()))


@dataclass
class Watch:
    """Which processes belong to which group (``server_pgids``, ``wrk_pids``, ``database``)."""

    server_pgids: set[int] = field(default_factory=set)
    wrk_pids: set[int] = field(default_factory=set)
    database: str | None = None


@dataclass(frozen=True)
class Snapshot:
    busy: int
    total: int
    ticks: dict[int, tuple[str, int]]  # pid -> (group, jiffies)


def _machine() -> tuple[int, int]:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def _group(pid: int, comm: str, pgrp: int, watch: Watch) -> str | None:
    if pgrp in watch.server_pgids:
        return "servers"
    if pid in watch.wrk_pids:
        return "wrk"
    if comm == "redis-server":
        return "redis"
    if comm == "postgres":
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return None
        words = cmd.split()
        # Backends read "postgres: 15/main: USER DATABASE HOST(PORT) STATE".
        is_backend = any("(" in w and w.endswith(")") for w in words) or "[local]" in words
        if not is_backend or (watch.database is not None and watch.database in words):
            return "postgres"
    return None


def snapshot(watch: Watch) -> Snapshot:
    busy, total = _machine()
    ticks: dict[int, tuple[str, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        group = _group(pid, comm, int(rest[2]), watch)
        if group is not None:
            ticks[pid] = (group, int(rest[11]) + int(rest[12]))
    return Snapshot(busy, total, ticks)


def between(a: Snapshot, b: Snapshot) -> Usage:
    """Each group's share of all cores from ``a`` to ``b``."""
    span = max(1, b.total - a.total)
    used = dict.fromkeys(GROUPS, 0)
    for pid, (group, jiffies) in b.ticks.items():
        before = a.ticks.get(pid)
        used[group] += jiffies - (before[1] if before and before[0] == group else 0)
    cores = os.cpu_count() or 1
    seconds = span / cores / os.sysconf("SC_CLK_TCK")
    return Usage(
        machine=100 * (b.busy - a.busy) / span,
        groups={g: 100 * max(0, v) / span for g, v in used.items()},
        seconds=seconds,
    )
