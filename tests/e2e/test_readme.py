"""README.md's ``sh`` blocks run as written, in order, against a fresh ``make run``.

A fresh ``make run`` is: ``otpgate init`` in an empty directory (the sandbox key lands in
``var/sandbox-key.txt``), then ``otpgate serve``. The blocks see ``.venv`` as a user's
checkout has it (a link to the running interpreter's environment) and every
``http://127.0.0.1:8000`` points at the test's server. ``curl`` fails on an HTTP error
status here, so a step that stops working fails the test instead of printing an error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import ServerProcess
from tests.support.services import missing

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body --show-error "$@"; }
"""


def shell_blocks(markdown: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(markdown) if lang == "sh"]


def test_readme_marks_every_shell_block():
    langs = [lang for lang, _ in BLOCK.findall((ROOT / "README.md").read_text())]
    assert "bash" not in langs and "" not in langs  # sh (runnable) or text (synopsis)
    assert len(shell_blocks((ROOT / "README.md").read_text())) >= 5


def test_readme_shell_blocks_run_in_order(tmp_path):
    for tool in ("curl", "jq", "bash"):
        if shutil.which(tool) is None:
            missing(f"{tool} is not installed (the README's examples use it)")
    venv = Path(sys.prefix)
    if not (venv / "bin" / "otpgate").exists():
        missing("the tests do not run from a virtualenv with otpgate installed")
    (tmp_path / ".venv").symlink_to(venv)
    env = {"OTPGATE_DATABASE_URL": f"sqlite:///{tmp_path}/var/otpgate.db", "OTPGATE_REDIS_URL": ""}
    server = ServerProcess(env, tmp_path / "server.log", cwd=tmp_path)
    server.cli("init", "--port", str(server.port))
    assert (tmp_path / "var/sandbox-key.txt").exists()

    blocks = shell_blocks((ROOT / "README.md").read_text())
    script = PRELUDE + "\n".join(
        f"echo '### README block {i}'\n{block}" for i, block in enumerate(blocks, 1)
    )
    script = script.replace("http://127.0.0.1:8000", server.url)
    with server:
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=server.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert '"sub_status": "Approve"' in output  # the first verification passed
    assert '"detail": "ALL CHECKS PASSED"' in output  # the gateway flow passed
    assert '"verified":true' in output.replace(" ", "")  # the sponsor token was redeemed


def test_readme_links_point_to_files_in_the_repository():
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#]+)\)", text) + re.findall(r"`((?:docs|seeds)/[^`]+)`", text)
    for target in targets:
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
    for page in ("evaluation-api", "gateway-api", "sponsor-api"):
        assert f"(docs/{page}.md)" in text
