from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from otpgate import secretfile
from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app


@pytest.fixture(autouse=True, scope="session")
def _secrets_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never touch ./var/secrets: one secrets file of their own, made up front (a
    PostgreSQL server refuses to start without one). Tests of the file set their own."""
    path = tmp_path_factory.mktemp("secrets") / "secrets"
    secretfile.add_missing(path, {}, {})
    previous = os.environ.get("OTPGATE_SECRETS_FILE")
    os.environ["OTPGATE_SECRETS_FILE"] = str(path)
    yield
    if previous is None:
        os.environ.pop("OTPGATE_SECRETS_FILE", None)
    else:
        os.environ["OTPGATE_SECRETS_FILE"] = previous


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
