"""Secrets live in the environment or the secrets file: rotation keeps live sessions and
lockouts, and secrets an older release kept in the database move out of it once."""

from __future__ import annotations

import base64
import sqlite3
import stat
from pathlib import Path

import pytest

from otpgate import secretfile
from otpgate.core.clock import FakeClock
from otpgate.settings import Settings
from otpgate.testing.app import running_app
from tests.integration.evalkit import PHONE, PHONE_2, code_body, patch, start, start_body, wrong
from tests.integration.sponsor_support import SPONSOR, access_token, set_up_sponsor
from tests.support.sealing import sealer_of, unseal_sqlite

OLD = base64.b64encode(b"o" * 32).decode()
NEW = base64.b64encode(b"n" * 32).decode()


@pytest.fixture
def secrets_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "secrets"


def settings_for(db_url: str, path: Path, **secrets: str) -> Settings:
    return Settings(database_url=db_url, secrets_file=str(path), _env_file=None, **secrets)  # type: ignore[call-arg]


async def test_sqlite_creates_the_file_once_mode_0600(db_url: str, secrets_path: Path) -> None:
    async with running_app(settings_for(db_url, secrets_path)):
        pass
    assert stat.S_IMODE(secrets_path.stat().st_mode) == 0o600
    first = secretfile.read_file(secrets_path)
    assert set(first) == set(secretfile.REQUIRED)
    async with running_app(settings_for(db_url, secrets_path)):
        pass
    assert secretfile.read_file(secrets_path) == first


async def test_a_lockout_holds_across_a_code_secret_rotation(
    db_url: str, secrets_path: Path, clock: FakeClock
) -> None:
    before = settings_for(db_url, secrets_path, code_secret=OLD)
    async with running_app(before, clock=clock) as h, h.client(h.sandbox_key) as c:
        ev = await start(c, phone=PHONE)
        for _ in range(5):
            await patch(c, ev["eval_id"], code_body("000000"))
        assert (await c.post("/api/evaluation", json=start_body(phone=PHONE))).status_code == 429
    rotated = settings_for(db_url, secrets_path, code_secret=NEW, code_secret_previous=OLD)
    async with running_app(rotated, clock=clock) as h, h.client(h.sandbox_key) as c:
        refused = await c.post("/api/evaluation", json=start_body(phone=PHONE))
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 600


async def test_a_session_started_before_a_rotation_still_verifies(
    db_url: str, secrets_path: Path, clock: FakeClock
) -> None:
    before = settings_for(db_url, secrets_path, code_secret=OLD)
    async with running_app(before, clock=clock) as h, h.client(h.production_key) as c:
        ev = await start(c, phone=PHONE_2)
        code = await h.last_code(PHONE_2)
    rotated = settings_for(db_url, secrets_path, code_secret=NEW, code_secret_previous=OLD)
    async with running_app(rotated, clock=clock) as h, h.client(h.production_key) as c:
        assert (await patch(c, ev["eval_id"], code_body(wrong(code)))).status_code == 400
        ok = await patch(c, ev["eval_id"], code_body(code))
        assert ok.status_code == 200, ok.text
        assert ok.json()["decision"] == "ACCEPT"


async def test_secrets_in_the_database_move_to_the_file_and_keep_live_sessions(
    db_url: str, secrets_path: Path, clock: FakeClock
) -> None:
    """An install of an older release: the generated secrets in ``app_secrets``, a session
    made under ``db1``, an access token signed with the stored key. After the upgrade both
    still work, the file holds the secrets, and the table holds none."""
    settings = settings_for(db_url, secrets_path)
    async with running_app(settings, clock=clock) as h, h.client(h.production_key) as c:
        await set_up_sponsor(h, h.production_key)
        token = await access_token(h, h.production_key)
        ev = await start(c, phone=PHONE)
        code = await h.last_code(PHONE)
    old = secretfile.read_file(secrets_path)
    # That release stored destinations and personal details in plain text.
    unseal_sqlite(db_url.removeprefix("sqlite:///"), sealer_of(settings))
    secrets_path.unlink()
    urlsafe = {  # how the older release stored them
        name: base64.urlsafe_b64encode(base64.b64decode(old[var])).decode()
        for name, var in secretfile.LEGACY_ROWS.items()
    }
    db = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    with db:
        db.executemany(
            "INSERT INTO app_secrets (name, value, created_at) VALUES (?, ?, 0)", urlsafe.items()
        )
        db.execute("UPDATE verification_sessions SET key_id = 'db1'")

    async with running_app(settings, clock=clock) as h, h.client(h.production_key) as c:
        ok = await patch(c, ev["eval_id"], code_body(code))
        assert ok.status_code == 200 and ok.json()["decision"] == "ACCEPT", ok.text
        async with h.client(token) as sponsor:
            r = await sponsor.get(f"/v1/sponsors/{SPONSOR}/configuration")
        assert r.status_code == 200, r.text
    moved = secretfile.read_file(secrets_path)
    for var in secretfile.LEGACY_ROWS.values():
        assert base64.b64decode(moved[var]) == base64.b64decode(old[var])
    assert stat.S_IMODE(secrets_path.stat().st_mode) == 0o600
    assert db.execute("SELECT count(*) FROM app_secrets").fetchone() == (0,)
    db.close()


async def test_access_tokens_signed_with_the_previous_key_stay_valid(
    db_url: str, secrets_path: Path, clock: FakeClock
) -> None:
    old_key, new_key = (base64.b64encode(c * 32).decode() for c in (b"a", b"b"))
    before = settings_for(db_url, secrets_path, oauth_signing_key=old_key)
    async with running_app(before, clock=clock) as h:
        await set_up_sponsor(h, h.production_key)
        token = await access_token(h, h.production_key)
    for keys, status in (
        ({"oauth_signing_key": new_key, "oauth_signing_key_previous": old_key}, 200),
        ({"oauth_signing_key": new_key}, 401),
    ):
        async with running_app(settings_for(db_url, secrets_path, **keys), clock=clock) as h:
            async with h.client(token) as sponsor:
                r = await sponsor.get(f"/v1/sponsors/{SPONSOR}/configuration")
            assert r.status_code == status, r.text


def test_short_or_missing_secrets_are_named() -> None:
    with pytest.raises(secretfile.MissingSecrets) as err:
        secretfile.assemble({"OTPGATE_CODE_SECRET": "short", "OTPGATE_LOOKUP_KEY": "x" * 16})
    assert err.value.problems == [
        "OTPGATE_OAUTH_SIGNING_KEY is not set",
        "OTPGATE_DATA_KEY is not set",
        "OTPGATE_CODE_SECRET must be at least 16 bytes (base64 or text)",
    ]
