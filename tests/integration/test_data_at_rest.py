"""A copy of the database holds no code, destination or personal detail in plain text.

Full flows on the three APIs (evaluations with the individual_onboarding workflow's
personal details and a reviewer's notes, the PhoneMatch gateway, the sponsor API with its
beneficiaries), with production and sandbox keys, then a byte search of what an attacker
would take: the SQLite file and its WAL, or a ``pg_dump`` of the PostgreSQL database.
Nothing that was delivered or sent in may be found: no code, no phone number in any of
its usual forms, no email, name, national id, birth date, address line or reviewer's
note. What is kept is still readable by the server: the outbox answers by destination
and the evaluation shows its details and notes.
Older rows in plain text are read as they are, and sealed once by ``adapters/sql/reseal.py``.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from otpgate.adapters.sql import migrate
from otpgate.adapters.sql.reseal import reseal
from otpgate.adapters.sql.sealed import PREFIX
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.integration.evalkit import code_body, details_body, patch, start
from tests.integration.sponsor_support import EMAIL as BENEFICIARY_EMAIL
from tests.integration.sponsor_support import PHONE as BENEFICIARY_PHONE
from tests.integration.sponsor_support import set_up_sponsor
from tests.support import gateway
from tests.support.pgdb import fresh_database
from tests.support.sealing import unseal_sqlite
from tests.support.services import require_postgres

PHONE = "+14155550142"
EMAIL = "marguerite.okonkwo@example.org"
SANDBOX_PHONE = "+14155550177"
DETAILS = {
    "given_name": "Marguerite",
    "family_name": "Okonkwo",
    "national_id": "512-48-3967",
    "date_of_birth": "1984-03-29",
    "address": {
        "line_1": "742 Evergreen Terrace",
        "line_2": "Apartment 12B",
        "locality": "Springfield",
        "major_admin_division": "OR",
        "postal_code": "97403",
        "country": "US",
    },
}
REVIEW_NOTES = "called back at home, spoke to Ottoline Thistlewood-Brandt"
GATEWAY_PHONE = "2015106042"  # national, as the gateway's callers send it
GATEWAY_TARGET = {"fn": "Bartholomew", "ln": "Featherstonehaugh", "phone": GATEWAY_PHONE}
GATEWAY_REFERENCE = "claim-Quintessa-7781"


def phone_forms(e164: str, national_digits: int = 10) -> set[str]:
    """+14155550142, 14155550142, 4155550142, 415-555-0142, (415) 555-0142, 415 555 0142."""
    digits = e164.lstrip("+")
    national = digits[-national_digits:]
    forms = {e164, digits, national}
    if national_digits == 10:
        a, b, c = national[:3], national[3:6], national[6:]
        forms |= {f"{a}-{b}-{c}", f"({a}) {b}-{c}", f"{a} {b} {c}", f"{a}.{b}.{c}"}
    return forms


def needles(codes: list[str]) -> set[str]:
    found = set(codes) | {EMAIL, BENEFICIARY_EMAIL, GATEWAY_REFERENCE}
    for phone in (PHONE, SANDBOX_PHONE, BENEFICIARY_PHONE, "+1" + GATEWAY_PHONE):
        found |= phone_forms(phone)
    found |= {"300 123 4542", EMAIL.split("@")[0], BENEFICIARY_EMAIL.split("@")[0]}
    found |= {REVIEW_NOTES, "Thistlewood-Brandt"}
    found |= {v for k, v in DETAILS.items() if isinstance(v, str)}
    address = DETAILS["address"]
    assert isinstance(address, dict)
    found |= {address[k] for k in ("line_1", "line_2", "locality", "postal_code")}
    return found | {GATEWAY_TARGET["fn"], GATEWAY_TARGET["ln"]}


def leaks(data: bytes, searched: set[str]) -> list[str]:
    """The needles found in ``data``; digit-only ones only where no digit touches them."""
    out = []
    for needle in sorted(searched):
        pattern = re.escape(needle.encode())
        if needle.isdigit():
            pattern = rb"(?<!\d)" + pattern + rb"(?!\d)"
        if re.search(pattern, data):
            out.append(needle)
    return out


ONBOARDING = "individual_onboarding"


async def full_flows(h: Harness) -> list[str]:
    """The three APIs end to end; the codes delivered."""
    codes = []
    async with h.client(h.production_key) as c:
        ev = await start(c, phone=PHONE, email=EMAIL, workflow=ONBOARDING)
        codes.append(await h.last_code(PHONE))
        held = await patch(c, ev["eval_id"], code_body(codes[-1], workflow=ONBOARDING))
        assert held.status_code == 200, held.text
        done = await patch(c, ev["eval_id"], details_body(DETAILS))
        assert done.status_code == 200, done.text
        review = {"workflow": ONBOARDING, "decision": "REVIEW", "status": "OPEN"}
        reviewed = await c.put(
            f"/api/evaluation/{ev['eval_id']}/state", json={**review, "notes": REVIEW_NOTES}
        )
        assert reviewed.json()["notes"] == REVIEW_NOTES, reviewed.text
        by_email = await start(c, phone=None, email=EMAIL, channel="email")
        codes.append(await h.last_code(EMAIL))
        assert (await patch(c, by_email["eval_id"], code_body(codes[-1]))).status_code == 200
        listed = await c.get("/v1/outbox", params={"destination": PHONE})
        assert listed.status_code == 200 and listed.json()["messages"], listed.text
    async with h.client(h.sandbox_key) as c:
        ev = await start(c, phone=SANDBOX_PHONE, workflow=ONBOARDING, **DETAILS)
        codes.append(await h.last_code(SANDBOX_PHONE))
        verified = await patch(c, ev["eval_id"], code_body(codes[-1], workflow=ONBOARDING))
        assert verified.status_code == 200
    async with h.client() as c:
        changes = {"target": GATEWAY_TARGET, "reference": GATEWAY_REFERENCE}
        token = await gateway.start(c, h.production_key, **changes)
        codes.append(await h.last_code("+1" + GATEWAY_PHONE))
        r = await gateway.cont(c, token, codes[-1])
        assert r.status_code == 200 and r.json()["result"]["action"] == "PASS", r.text
    setup = await set_up_sponsor(h, h.production_key)
    sent = await setup.send()
    assert sent.status_code == 200, sent.text
    codes.append(await h.last_code(BENEFICIARY_PHONE))
    assert (await setup.validate(sent.json()["otp_id"], codes[-1])).status_code == 200
    return codes


def sqlite_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def postgres_dump(url: str) -> bytes:
    """``pg_dump`` of the database; without it, ``COPY … TO STDOUT`` of every table."""
    if shutil.which("pg_dump"):
        return subprocess.run(  # noqa: S603 - fixed arguments
            ["pg_dump", "--no-owner", url],  # noqa: S607
            check=True,
            capture_output=True,
        ).stdout
    out = bytearray()
    with psycopg.connect(url) as conn:
        names = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in names.fetchall():
            with conn.cursor().copy(f'COPY "{table}" TO STDOUT') as copy:
                for chunk in copy:
                    out += chunk
    return bytes(out)


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "otpgate.db"


async def test_the_sqlite_file_holds_nothing_in_plain_text(sqlite_file: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{sqlite_file}", _env_file=None)  # type: ignore[call-arg]
    async with running_app(settings) as h:
        codes = await full_flows(h)
        found = leaks(sqlite_bytes(sqlite_file), needles(codes))
    assert found == []
    # The test can see a leak: the same search of the plain values finds them all.
    plain = "\n".join(sorted(needles(codes))).encode()
    assert len(leaks(plain, needles(codes))) == len(needles(codes))


@pytest.fixture
def pg_database() -> Iterator[str]:
    with fresh_database(require_postgres(), prefix="otpgate_rest") as url:
        migrate.upgrade(url)
        yield url


@pytest.mark.postgres
async def test_a_postgres_dump_holds_nothing_in_plain_text(pg_database: str) -> None:
    settings = Settings(database_url=pg_database, _env_file=None)  # type: ignore[call-arg]
    async with running_app(settings) as h:
        codes = await full_flows(h)
    dump = postgres_dump(pg_database)
    assert b"verification_sessions" in dump and PREFIX.encode() in dump
    assert leaks(dump, needles(codes)) == []


@pytest.fixture
async def old_rows(sqlite_file: Path) -> AsyncIterator[tuple[Harness, int]]:
    """A database as an older release left it: everything in plain text."""
    settings = Settings(database_url=f"sqlite:///{sqlite_file}", _env_file=None)  # type: ignore[call-arg]
    async with running_app(settings) as h:
        await full_flows(h)
        unsealed = unseal_sqlite(sqlite_file, h.services.uow.sealer)
        yield h, unsealed


async def test_plain_rows_of_an_older_release_are_read_then_sealed_once(
    old_rows: tuple[Harness, int], sqlite_file: Path
) -> None:
    h, unsealed = old_rows
    assert unsealed >= 10
    assert PHONE.encode() in sqlite_bytes(sqlite_file)
    async with h.client(h.production_key) as c:
        listed = await c.get("/v1/outbox", params={"destination": PHONE})
        assert listed.json()["messages"] == [], "no destination_key yet: not found"

    done = await reseal(h.services.database, h.services.uow.sealer)

    assert sum(done.values()) >= unsealed
    assert done["outbox.destination_key"] >= 5
    db = sqlite3.connect(sqlite_file)
    with db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")  # the old pages go too, as they would from a backup
    db.close()
    assert leaks(sqlite_bytes(sqlite_file), {PHONE, EMAIL, *DETAILS_STRINGS}) == []
    async with h.client(h.production_key) as c:
        listed = await c.get("/v1/outbox", params={"destination": PHONE})
        assert len(listed.json()["messages"]) == 1, listed.text
    assert sum((await reseal(h.services.database, h.services.uow.sealer)).values()) == 0


DETAILS_STRINGS = {"Marguerite", "512-48-3967", "742 Evergreen Terrace", "Thistlewood-Brandt"}
