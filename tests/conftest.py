from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing import Harness, running_app


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/otpgate.db"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=time.time())


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, log_json=True, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def harness(settings: Settings, clock: FakeClock) -> AsyncIterator[Harness]:
    async with running_app(settings, clock=clock) as h:
        yield h


pytest_plugins = ["tests.support.backends"]
