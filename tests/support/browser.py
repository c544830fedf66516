"""Real Chromium for the demo page tests: Debian's ``chromium`` driven by Playwright.

Skips on a laptop without Chromium, fails under ``CI=true`` (``make browser-deps`` installs
it). Screenshots go to ``test-results/<test name>/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import missing

CHROMIUM = os.environ.get("OTPGATE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def launch_chromium() -> Iterator[Any]:
    """Yield a headless Chromium browser (Playwright sync API)."""
    if not Path(CHROMIUM).exists():
        missing(f"Chromium is not installed at {CHROMIUM} (run `make browser-deps`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def results_dir(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = Path(request.config.rootpath) / "test-results" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
