from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from otpgate.testing.app import Harness


@pytest.fixture
async def sandbox(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with harness.client(harness.sandbox_key) as client:
        yield client


@pytest.fixture
async def live(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with harness.client(harness.production_key) as client:
        yield client
