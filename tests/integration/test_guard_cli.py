"""``otpgate guard status|allow|block|unblock`` through typer's runner, against a running
app on the same database (SQLite and PostgreSQL): what the CLI changes, the next send
meets."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from otpgate.cli.main import app as cli
from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import running_app
from tests.support.pgdb import fresh_database
from tests.support.services import require_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A database of this test's own; the CLI finds it in the environment."""
    monkeypatch.setenv("OTPGATE_LOG_JSON", "true")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/guard.db"
        monkeypatch.setenv("OTPGATE_DATABASE_URL", url)
        yield url
        return
    with fresh_database(require_postgres()) as url:
        monkeypatch.setenv("OTPGATE_DATABASE_URL", url)
        yield url


async def guard(*args: str) -> Result:
    """One CLI command, in a thread of its own (it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, cli, ["guard", *args])


async def ok(*args: str) -> str:
    result = await guard(*args)
    assert result.exit_code == 0, result.output
    return result.output


async def start(c: httpx.AsyncClient, phone: str) -> int:
    body = {
        "id": f"cli-{phone}-{asyncio.get_running_loop().time()}",
        "workflow": "otp_verification",
        "data": {"individual": {"phone_number": phone}},
    }
    r = await c.post("/api/evaluation", json=body)
    return r.status_code


async def test_lists_block_and_allow_the_next_send(settings: Settings, clock: FakeClock) -> None:
    async with running_app(settings, clock=clock) as h, h.client(h.sandbox_key) as c:
        assert "blocked prefix +1201555" in await ok(
            "block", "--tenant", "acme", "--prefix", "+1 201 555"
        )
        assert await start(c, "+12015550123") == 403
        assert await start(c, "+12015560123") == 200  # outside the prefix
        await ok("allow", "--tenant", "acme", "--destination", "+1 201-555-0124")
        assert await start(c, "+12015550124") == 200  # an allow entry wins

        shown = await ok("status", "--tenant", "acme")
        assert "block  prefix       +1201555" in shown
        assert "allow  destination  +1 201 *** ** 24" in shown
        assert "2015550124" not in shown  # a destination is never shown in clear

        assert "removed the list entry" in await ok(
            "unblock", "--tenant", "acme", "--prefix", "+1201555"
        )
        assert await start(c, "+12015550125") == 200
        assert "nothing held prefix +1201555" in await ok(
            "unblock", "--tenant", "acme", "--prefix", "+1201555"
        )


async def test_status_and_unblock_of_a_locked_destination(
    settings: Settings, clock: FakeClock
) -> None:
    phone = "+14155550199"
    async with running_app(settings, clock=clock) as h, h.client(h.sandbox_key) as c:
        r = await c.post(
            "/api/evaluation",
            json={"id": "lock-me", "workflow": "otp_verification",
                  "data": {"individual": {"phone_number": phone}}},
        )  # fmt: skip
        eval_id = r.json()["eval_id"]
        for i in range(5):  # the sandbox refuses 000000
            body = {"id": f"w{i}", "data": {"individual": {"otp": {"code": "000000"}}}}
            await c.patch(f"/api/evaluation/{eval_id}", json=body)
        assert await start(c, phone) == 429

        shown = await ok("status", "--tenant", "acme", "--destination", phone)
        assert "locked destinations:\n  +1 415 *** ** 99  until" in shown
        assert "wrong codes this hour: 5 of 10" in shown
        assert "  locked: until" in shown

        assert "lifted the lockout" in await ok(
            "unblock", "--tenant", "acme", "--destination", phone
        )
        assert await start(c, phone) == 200
        shown = await ok("status", "--tenant", "acme", "--destination", phone)
        assert "wrong codes this hour: 0 of 10" in shown and "locked destinations:\n  none" in shown


async def test_a_pause_is_shown_and_lifted(
    settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = settings.model_copy(
        update={"guard_prefix_sends_per_hour": 1000, "guard_prefix_conversion_min_sends": 5}
    )
    monkeypatch.setenv("OTPGATE_GUARD_PREFIX_SENDS_PER_HOUR", "1000")  # the CLI's settings
    async with running_app(quick, clock=clock) as h, h.client(h.sandbox_key) as c:
        assert [await start(c, f"+1415777{i:04d}") for i in range(6)] == [200] * 5 + [429]

        shown = await ok("status", "--tenant", "acme", "--environment", "sandbox")
        assert "pauses:\n  sandbox     prefix   +1415777  until" in shown
        shown = await ok("status", "--tenant", "acme", "--destination", "+14157770001")
        assert "sandbox prefix +1415777: 5 sends this hour (limit 1000); 0 of 5 verified" in shown
        assert "production prefix +1415777: 0 sends this hour" in shown

        lifted = await ok("unblock", "--tenant", "acme", "--prefix", "+1415777")
        assert lifted.strip() == "lifted the pause in sandbox"
        assert await start(c, "+14157770100") == 200


async def test_bad_input_ends_in_status_2(settings: Settings, clock: FakeClock) -> None:
    async with running_app(settings, clock=clock):
        cases = [
            (["block", "--tenant", "nobody", "--country", "US"], "no tenant named 'nobody'"),
            (["block", "--tenant", "acme", "--prefix", "+14155550100"], "use --destination"),
            (["block", "--tenant", "acme", "--prefix", "1415"], "not a prefix"),
            (["allow", "--tenant", "acme", "--country", "XX"], "not an ISO region"),
            (["allow", "--tenant", "acme", "--country", "US", "--prefix", "+1"], "exactly one"),
            (["allow", "--tenant", "acme"], "exactly one"),
            (["block", "--tenant", "acme", "--destination", "nope"], "not a phone number"),
        ]
        for args, said in cases:
            result = await guard(*args)
            assert result.exit_code == 2, (args, result.output)
            plain = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # rich's box
            assert said in plain, (args, result.output)
        shown = await ok("status", "--tenant", "acme")
        assert "lists (both environments):\n  none" in shown
