"""The lock is complete and is what every install reads (`make lock` rewrites it)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^\s;]+)(?: ;[^\\]*)? \\$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, str]:
    """name → version, checking that every pin carries at least one sha256 hash."""
    pins: dict[str, str] = {}
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if not line or line[0] in " #":
            continue
        found = PIN.match(line)
        assert found, f"{path.name}: not a pinned, hashed line: {line!r}"
        assert lines[i + 1].strip().startswith("--hash=sha256:"), line
        pins[canonical(found.group(1))] = found.group(3)
    return pins


def requirement_names(requirements: list[str]) -> set[str]:
    return {canonical(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]) for r in requirements}


def test_every_dependency_is_locked_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = locked(ROOT / "requirements/runtime.txt")
    dev = locked(ROOT / "requirements/dev.txt")
    assert requirement_names(project["dependencies"]) <= runtime.keys()
    assert requirement_names(project["optional-dependencies"]["dev"]) <= dev.keys()
    assert {"setuptools", "wheel"} <= runtime.keys() & dev.keys()  # the build backend
    # The dev lock is the runtime lock plus the dev tools: same versions where they meet.
    assert {n: dev[n] for n in runtime} == runtime


def test_installs_read_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "LOCK   := requirements/dev.txt" in makefile
    assert "$(STAMP): pyproject.toml $(LOCK)" in makefile
    assert "pip install --quiet --require-hashes --no-deps -r $(LOCK)" in makefile
    assert "make test" in (ROOT / ".ci/run").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes --no-deps -r requirements/runtime.txt" in dockerfile
    assert "pip install --no-cache-dir --no-index --no-deps /wheels/*.whl" in dockerfile
