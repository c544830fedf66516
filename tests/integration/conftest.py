from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.support.pgdb import fresh_database
from tests.support.services import require_postgres


@pytest.fixture
async def sandbox(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with harness.client(harness.sandbox_key) as client:
        yield client


@pytest.fixture
async def live(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with harness.client(harness.production_key) as client:
        yield client


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """A running app on SQLite, then on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        settings = Settings(database_url=f"sqlite:///{tmp_path}/otpgate.db", _env_file=None)  # type: ignore[call-arg]
        async with running_app(settings) as h:
            yield h
        return
    with fresh_database(require_postgres(), "otpgate_app") as url:
        settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
        async with running_app(settings) as h:
            yield h
