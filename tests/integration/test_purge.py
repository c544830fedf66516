"""Housekeeping: old sessions and the personal data around them are deleted; audit stays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from otpgate.adapters.sql import tables
from otpgate.adapters.sql.purge import Purger, PurgeSchedule
from otpgate.adapters.sql.sealed import SealError
from otpgate.cli.main import app as cli
from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app

DAY = 86_400
PERSONAL = ("verification_sessions", "outbox", "evaluations", "evaluation_enrichments")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def h(
    request: pytest.FixtureRequest, settings: Settings, clock: FakeClock
) -> AsyncIterator[Harness]:
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("pg_url")})
    async with running_app(settings, clock=clock) as harness:
        yield harness


async def start_and_fail(h: Harness, phone: str, request_id: str) -> str:
    """An evaluation with a session, enrichments, an outbox message, idempotent PATCHes, a
    lockout and rate counters: every kind of row the purge is about."""
    async with h.client(h.sandbox_key) as c:
        r = await c.post(
            "/api/evaluation",
            json={
                "id": request_id,
                "workflow": "otp_verification",
                "data": {"individual": {"phone_number": phone}},
            },
        )
        eval_id: str = r.json()["eval_id"]
        for i in range(5):
            await c.patch(
                f"/api/evaluation/{eval_id}",
                json={
                    "id": f"{request_id}-{i}",
                    "data": {"individual": {"otp": {"code": "000000"}}},
                },
            )
    return eval_id


def opened(h: Harness, stored: str) -> str | None:
    """The stored value opened; None if sealed under another test's data key (the
    PostgreSQL database is shared by the run)."""
    try:
        return h.services.uow.sealer.open(stored)
    except SealError:
        return None


async def rows(h: Harness, table: str, column: str, value: str) -> int:
    t = tables.metadata.tables[table]
    if column == "destination":  # stored sealed: open each one
        async with h.services.engine.connect() as conn:
            stored = (await conn.execute(select(t.c.destination))).scalars().all()
        return sum(opened(h, d) == value for d in stored)
    async with h.services.engine.connect() as conn:
        stmt = select(func.count()).select_from(t).where(t.c[column] == value)
        return int((await conn.execute(stmt)).scalar_one())


async def session_of(h: Harness, phone: str) -> str:
    s = tables.sessions
    async with h.services.engine.connect() as conn:
        found = (await conn.execute(select(s.c.id, s.c.destination))).all()
    (session_id,) = [i for i, d in found if opened(h, d) == phone]
    return str(session_id)


async def test_purge_deletes_old_personal_data_and_keeps_recent_data_and_audit(
    h: Harness, clock: FakeClock
) -> None:
    old_phone, new_phone = "+14155550181", "+14155550182"
    old_eval = await start_and_fail(h, old_phone, "old-signup")
    old_session = await session_of(h, old_phone)
    clock.advance(8 * DAY)
    await start_and_fail(h, new_phone, "new-signup")

    report = await Purger(h.services.engine).purge(clock.now(), 7 * DAY)

    assert report.deleted["verification_sessions"] >= 1
    assert report.deleted["evaluations"] >= 1 and report.deleted["idempotency_records"] >= 5
    assert await rows(h, "verification_sessions", "destination", old_phone) == 0
    assert await rows(h, "outbox", "destination", old_phone) == 0
    assert await rows(h, "evaluations", "id", old_eval) == 0
    assert await rows(h, "evaluation_enrichments", "evaluation_id", old_eval) == 0
    assert await rows(h, "idempotency_records", "request_id", "old-signup-0") == 0
    assert await rows(h, "deliveries", "session_id", old_session) == 0
    # The old lockout expired long ago and is gone; the new one still holds.
    async with h.services.engine.connect() as conn:
        until = (await conn.execute(select(tables.lockouts.c.until))).scalars().all()
    assert until and all(u > clock.now() for u in until)
    # Recent data stays, and audit events (no personal data) are kept.
    assert await rows(h, "verification_sessions", "destination", new_phone) == 1
    assert await rows(h, "outbox", "destination", new_phone) == 1
    assert await rows(h, "audit_events", "subject_id", old_session) >= 6
    # Audit events go only when asked.
    await Purger(h.services.engine).purge(clock.now(), 7 * DAY, audit_older_than=7 * DAY)
    assert await rows(h, "audit_events", "subject_id", old_session) == 0


async def test_the_periodic_task_purges_on_its_own(harness: Harness, clock: FakeClock) -> None:
    await start_and_fail(harness, "+14155550183", "periodic")
    clock.advance(8 * DAY)
    schedule = PurgeSchedule(
        Purger(harness.services.engine), clock.now, interval=0.05, older_than=7 * DAY
    )
    schedule.start()
    try:
        for _ in range(100):
            if await rows(harness, "outbox", "destination", "+14155550183") == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await schedule.stop()
    assert await rows(harness, "verification_sessions", "destination", "+14155550183") == 0


def test_the_purge_command(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTPGATE_DATABASE_URL", db_url)
    done = CliRunner().invoke(cli, ["purge", "--older-than", "7d"])
    assert done.exit_code == 0, done.output
    assert "verification_sessions: 0 deleted" in done.output
    bad = CliRunner().invoke(cli, ["purge", "--older-than", "soon"])
    assert bad.exit_code != 0 and "not a duration" in bad.output


async def test_purge_covers_gateway_and_sponsor_records(h: Harness, clock: FakeClock) -> None:
    """Gateway transactions and sponsor OTP ids/tokens carry customer references and
    beneficiary ids: old ones go, recent ones (and unexpired tokens) stay."""
    now = clock.now()
    old, new = now - 8 * DAY, now - DAY
    common = {"tenant_id": "t", "environment": "sandbox", "sponsor_id": "s", "channel": "sms"}
    async with h.services.engine.begin() as conn:
        for tag, at in (("old", old), ("new", new)):
            await conn.execute(
                tables.gateway_transactions.insert().values(
                    id=f"gw-{tag}",
                    tenant_id="t",
                    environment="sandbox",
                    session_id="s",
                    service="PhoneMatch5.0.SMS",
                    reference="customer-ref",
                    user_name="acme",
                    company="acme",
                    token_hash=f"tok-{tag}",
                    state="pending",
                    created_at=at,
                )
            )
            await conn.execute(
                tables.sponsor_otps.insert().values(
                    id=f"otp-{tag}", beneficiary_id="bnf", session_id="s", created_at=at, **common
                )
            )
            await conn.execute(
                tables.verification_tokens.insert().values(
                    token_hash=f"vt-{tag}",
                    otp_id=f"otp-{tag}",
                    beneficiary_id="bnf",
                    created_at=at,
                    expires_at=at + 600,
                    **common,
                )
            )
    report = await Purger(h.services.engine).purge(now, 7 * DAY)
    assert report.deleted["gateway_transactions"] == 1
    assert report.deleted["sponsor_otps"] == 1
    assert report.deleted["sponsor_verification_tokens"] == 1
    assert await rows(h, "gateway_transactions", "id", "gw-old") == 0
    assert await rows(h, "gateway_transactions", "id", "gw-new") == 1
    assert await rows(h, "sponsor_otps", "id", "otp-new") == 1
    assert await rows(h, "sponsor_verification_tokens", "token_hash", "vt-old") == 0
    assert await rows(h, "sponsor_verification_tokens", "token_hash", "vt-new") == 1


async def test_lifted_guard_pauses_go_and_standing_ones_stay(h: Harness, clock: FakeClock) -> None:
    now = clock.now()
    rows = [
        {"value": "+4479001", "until": now - 1},  # lifted a second ago
        {"value": "+4479002", "until": now + 600},  # still standing
    ]
    async with h.services.engine.begin() as conn:
        for row in rows:
            await conn.execute(
                tables.guard_pauses.insert().values(
                    tenant_id="t-purge", environment="sandbox", scope="prefix",
                    created_at=now - 1_800, **row,
                )
            )  # fmt: skip
    report = await Purger(h.services.engine).purge(now, 7 * DAY)
    assert report.deleted["guard_pauses"] >= 1
    async with h.services.engine.connect() as conn:
        left = (
            (
                await conn.execute(
                    select(tables.guard_pauses.c.value).where(
                        tables.guard_pauses.c.tenant_id == "t-purge"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert left == ["+4479002"]
