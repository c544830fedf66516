"""The sponsor API under concurrency and per transaction, on SQLite, PostgreSQL and Redis.

Exactly the guesses that were compared answer "wrong code"; every other racing request
gets the answer it would get had it come alone afterwards. Each request is one
transaction (a live send two: its delivery's outcome is recorded after the provider).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.integration.sponsor_support import SPONSOR, SponsorSetup, set_up_sponsor
from tests.support.pgdb import fresh_database
from tests.support.services import require_postgres, require_redis

BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    clock = FakeClock(start=1_800_000_000.5)
    if request.param == "sqlite":
        settings = Settings(database_url=f"sqlite:///{tmp_path}/otpgate.db", _env_file=None)  # type: ignore[call-arg]
        async with running_app(settings, clock=clock) as h:
            yield h
        return
    redis = (
        {"redis_url": require_redis(), "redis_key_prefix": f"sponsor-{tmp_path.name}:"}
        if request.param == "postgres+redis"
        else {}
    )
    with fresh_database(require_postgres(), "otpgate_sponsor") as url:
        settings = Settings(database_url=url, _env_file=None, **redis)  # type: ignore[call-arg]
        async with running_app(settings, clock=clock) as h:
            yield h


async def sent_otp(s: SponsorSetup) -> str:
    sent = await s.send()
    assert sent.status_code == 200, sent.text
    return str(sent.json()["otp_id"])


async def test_concurrent_wrong_codes_compare_exactly_the_allowed_guesses(backend: Harness):
    s = await set_up_sponsor(backend, backend.sandbox_key)
    otp_id = await sent_otp(s)
    answers = await asyncio.gather(*(s.validate(otp_id, "000000") for _ in range(10)))
    codes = Counter(r.json()["error_code"] for r in answers)
    assert codes == {"071-206": 3, "071-205": 7}, [r.text for r in answers]
    compared = sorted(r.json()["message"] for r in answers if r.status_code == 422)
    assert compared == [
        "wrong code; 1 attempt(s) left",
        "wrong code; 2 attempt(s) left",
        "wrong code; the OTP is now invalidated, send a new one",
    ]
    gone = {r.json()["message"] for r in answers if r.status_code == 410}
    assert gone == {"the OTP was invalidated after too many wrong codes; send a new one"}


async def test_concurrent_right_codes_issue_one_token(backend: Harness):
    s = await set_up_sponsor(backend, backend.sandbox_key)
    otp_id = await sent_otp(s)
    answers = await asyncio.gather(*(s.validate(otp_id, "123456") for _ in range(10)))
    assert sorted(r.status_code for r in answers) == [200] + [409] * 9
    token = next(r.json()["otp_verification_token"] for r in answers if r.status_code == 200)
    redeemed = await asyncio.gather(*(s.redeem(token) for _ in range(10)))
    assert sorted(r.status_code for r in redeemed) == [200] + [404] * 9


class Transactions:
    """Counts the units of work the database opens (reads and writes)."""

    def __init__(self, harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        database = harness.services.database
        inner = database.begin

        async def begin(write: bool) -> Any:
            self.count += 1
            return await inner(write)

        monkeypatch.setattr(database, "begin", begin)

    async def of(self, request: Any) -> int:
        before = self.count
        await request
        return self.count - before


async def test_each_request_is_one_transaction(backend: Harness, monkeypatch):
    s = await set_up_sponsor(backend, backend.sandbox_key)
    tx = Transactions(backend, monkeypatch)
    # With Redis counting the send, the directory is read first, to know whom to count.
    reads = 1 if backend.services.settings.redis_url else 0
    assert await tx.of(s.send()) == 1 + reads
    otp_id = (await s.send("bnf_phone_only")).json()["otp_id"]
    assert await tx.of(s.validate(otp_id, "000000")) == 1
    # A malformed code rolls its unit of work back; only then is the client charged apart.
    assert await tx.of(s.validate(otp_id, "12a456")) == 1 + (1 - reads)
    token = (await s.validate(otp_id, "123456")).json()["otp_verification_token"]
    assert await tx.of(s.redeem(token)) == 1
    assert await tx.of(s.redeem(token)) == 1
    async with s.client() as c:
        assert await tx.of(c.get(f"/v1/sponsors/{SPONSOR}/configuration")) == 1
