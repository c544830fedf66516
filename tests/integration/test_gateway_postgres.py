"""The gateway on PostgreSQL under concurrent continues: one PASS, one final token, no 500."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from otpgate.settings import Settings
from otpgate.testing import Harness, running_app
from tests.support.gateway import cont, start
from tests.support.services import require_postgres

pytestmark = pytest.mark.postgres
PHONE = "+12015106000"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway database, so that this test owns its schema and migration history."""
    base = require_postgres()
    name = f"otpgate_gw_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[Harness]:
    settings = Settings(database_url=pg_url, _env_file=None)  # type: ignore[call-arg]
    async with running_app(settings) as h:
        yield h


async def test_concurrent_right_codes_pass_once(pg: Harness) -> None:
    async with pg.client() as c:
        token = await start(c, pg.production_key)
        code = await pg.last_code(PHONE)
        answers = await asyncio.gather(*(cont(c, token, code) for _ in range(8)))
    assert all(r.status_code < 500 for r in answers)
    passed = [r for r in answers if r.json()["result"]["action"] == "PASS"]
    assert len(passed) == 1
    assert sum("final" in r.json() for r in answers) == 1


async def test_concurrent_wrong_codes_close_the_transaction_once(pg: Harness) -> None:
    async with pg.client() as c:
        token = await start(c, pg.production_key)
        code = await pg.last_code(PHONE)
        wrong = "111111" if code != "111111" else "222222"
        answers = await asyncio.gather(*(cont(c, token, wrong) for _ in range(12)))
        statuses = sorted(r.status_code for r in answers)
        assert all(s < 500 for s in statuses), statuses
        assert sum("final" in r.json() for r in answers) == 1
        assert all(r.json()["result"]["action"] == "FAIL" for r in answers)
        assert (await cont(c, token, code)).status_code == 404
