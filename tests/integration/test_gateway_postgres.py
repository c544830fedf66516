"""The gateway on PostgreSQL under concurrent continues: one PASS, one final token, no 500.

Every request that did not get to use the transaction answers what it would have
answered arriving alone afterwards: 404, the token is used up. (The check locks the
transaction's row first; make that lookup a plain ``SELECT`` and the losers answer a
200 "already closed" instead, which these tests refuse.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from otpgate.flows.phonematch.records import FinalOutcome
from otpgate.flows.phonematch.service import hash_token
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.support.gateway import cont, start
from tests.support.services import require_postgres, require_redis

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


@pytest.fixture(params=["postgres", "postgres+redis"])
async def pg(pg_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """With Redis, limits are counted before the unit of work opens (``precount``)."""
    redis_url = None
    if request.param == "postgres+redis":
        redis_url = require_redis()
    prefix = f"otpgate-gw-{uuid.uuid4().hex[:8]}:"
    settings = Settings(  # type: ignore[call-arg]
        database_url=pg_url, redis_url=redis_url, redis_key_prefix=prefix, _env_file=None
    )
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
    assert sorted(r.status_code for r in answers) == [200] + [404] * 7
    assert all(
        r.json()["result"]["detail"] == "INVALID TOKEN" for r in answers if r.status_code == 404
    )


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
        # Redis counts all 12 before any unit of work opens: the verify limit (10 a
        # minute) refuses two of them, unless they come after the transaction closed.
        refused = statuses.count(429)
        assert refused <= 2 if pg.services.settings.redis_url else refused == 0
        assert statuses == sorted([200] * 5 + [404] * (7 - refused) + [429] * refused)
        counted = sorted(
            r.json()["result"]["issues"][0] for r in answers if "continuations" in r.json()
        )
        assert counted == [
            f"the code did not match; {n} {w}"
            for n, w in (
                (1, "attempt remains"),
                (2, "attempts remain"),
                (3, "attempts remain"),
                (4, "attempts remain"),
            )
        ]
        assert (await cont(c, token, code)).status_code == 404


async def test_a_transaction_finishes_once_across_transactions(pg: Harness) -> None:
    """The finish's own guard (``WHERE state = 'pending'``), without the check's row lock:
    the second of two concurrent finishes waits for the first, then changes nothing."""
    async with pg.client() as c:
        token = await start(c, pg.production_key)
    async with pg.services.uow() as uow:
        transaction = await uow.gateway.lock_pending(hash_token(token))
    assert transaction is not None
    first_wrote = asyncio.Event()

    async def finish(outcome: FinalOutcome, final: str, hold: bool) -> bool:
        async with pg.services.uow() as uow:
            if not hold:
                await first_wrote.wait()
            won = await uow.gateway.finish(transaction.id, outcome, final, 12345678, 1.0)
            if hold:
                first_wrote.set()
                await asyncio.sleep(0.2)  # the other finish now waits on this row's lock
            await uow.commit()
        return won

    results = await asyncio.gather(
        finish(FinalOutcome.MATCHED, "a" * 64, True),
        finish(FinalOutcome.EXPIRED, "b" * 64, False),
    )
    assert list(results) == [True, False]
    async with pg.services.uow.reading() as uow:
        assert await uow.gateway.by_final_token("b" * 64) is None
        finished = await uow.gateway.by_final_token("a" * 64)
    assert finished is not None and finished.outcome is FinalOutcome.MATCHED
