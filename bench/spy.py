"""Profile one otpgate flow under load: ``python bench/spy.py verify_wrong``.

Seeds a database as ``run.py`` does, serves otpgate with ONE worker, drives it with
wrk and samples it with ``py-spy`` (``pip install py-spy``; needs ptrace). Prints
where the time goes (inclusive share per frame, grouped by file:function) and
keeps the folded stacks (for flamegraph tools) in ``var/profile-<flow>.txt``.
"""

from __future__ import annotations

import argparse
import collections
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src")]
sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from bench.procs import ROOT, wrk  # noqa: E402
from bench.run import Bench  # noqa: E402
from bench.seed import seed, tenant_id_of, write_pool  # noqa: E402

_VENV_SPY = Path(sys.executable).with_name("py-spy")
PY_SPY = str(_VENV_SPY) if _VENV_SPY.exists() else "py-spy"
SCRIPTS = {"start": "start", "verify_wrong": "verify", "verify_right": "verify", "get": "get"}


def summarise(folded: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].split("/")[-1] + ")"
                  for f in stack.split(";") if f]  # fmt: skip
        for f in set(frames):
            inclusive[f] += n
        if frames:
            own[frames[-1]] += n
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("flow", choices=sorted(SCRIPTS))
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--top", type=int, default=45)
    args = p.parse_args()
    opts = argparse.Namespace(workers=1, threads=2, duration=args.duration, no_guard=False)
    out = ROOT / "var" / f"profile-{args.flow}.txt"
    out.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="otpgate-profile-") as tmp:
        bench = Bench(opts, Path(tmp))
        db, secret = Path(tmp) / "otpgate.db", secrets.token_bytes(32)
        env = bench._otpgate_env(db, secret)
        key = bench._key(env)
        common = {"tenant_id": tenant_id_of(str(db), "bench"), "secret": secret}
        rows = seed(str(db), count=30_000, prefix="p", max_attempts=100, ttl=3600, **common)
        pool = write_pool(Path(tmp) / "pool.txt", rows, wrong=args.flow != "verify_right")
        with bench._serve(env, "profile") as srv:
            assert srv.proc is not None
            spy = subprocess.Popen(
                [PY_SPY, "record", "--pid", str(srv.proc.pid), "--duration",
                 str(args.duration), "--format", "raw", "--output", str(out), "--rate", "250"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            extra = [] if args.flow == "start" else [str(pool), "2"]
            r = wrk(
                srv.url,
                SCRIPTS[args.flow],
                ["prof", key, *extra],
                connections=args.connections,
                threads=2,
                duration=args.duration,
                workdir=Path(tmp),
            )
            spy.wait(timeout=args.duration + 60)
    print(f"{args.flow}: {r.rps:.0f} req/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms")
    print(summarise(out, args.top))


if __name__ == "__main__":
    main()
