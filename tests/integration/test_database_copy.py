"""A copy of the database alone computes no code and forges no token.

After real production sends on two APIs, the test takes the SQLite file (and its WAL),
makes every secret-looking value in it a candidate key (each cell as text and bytes,
its base64 and hex decodings, every base64/hex-looking run of the raw file) and tries
each one as an attacker would: ``HMAC(candidate, session id + ":" + nonce)`` against
the codes actually delivered (``core/codes.py``), and an access token signed with it
against the server. None may work. The same attack with the key from the secrets file
does work, so the test is able to see a leak.
"""

from __future__ import annotations

import base64
import binascii
import re
import sqlite3
import time
from pathlib import Path

import jwt

from otpgate import secretfile
from otpgate.adapters.tokens import ALGORITHM, AUDIENCE, ISSUER
from otpgate.core.codes import Keyring
from otpgate.core.errors import Unauthorized
from otpgate.settings import Settings
from otpgate.testing.app import Harness, running_app
from tests.integration.evalkit import EMAIL, PHONE, code_body, patch, resend_body, start
from tests.integration.sponsor_support import PHONE as BENEFICIARY_PHONE
from tests.integration.sponsor_support import set_up_sponsor

_RUN = re.compile(rb"[A-Za-z0-9+/_=-]{20,}")


def _decodings(raw: bytes) -> set[bytes]:
    found = {raw}
    text = raw.decode("ascii", "ignore").strip()
    for decode in (base64.b64decode, base64.urlsafe_b64decode, bytes.fromhex):
        try:
            padded = text if decode is bytes.fromhex else text + "=" * (-len(text) % 4)
            found.add(decode(padded))
        except (binascii.Error, ValueError):
            pass
    return {c for c in found if len(c) >= 16}


def candidates(db_path: Path) -> set[bytes]:
    out: set[bytes] = set()
    db = sqlite3.connect(db_path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from the file
            for cell in row:
                if isinstance(cell, str):
                    cell = cell.encode()
                if isinstance(cell, bytes):
                    out |= _decodings(cell)
                    for run in _RUN.findall(cell):
                        out |= _decodings(run)
    db.close()
    for path in (db_path, Path(f"{db_path}-wal")):
        if path.exists():
            for run in _RUN.findall(path.read_bytes()):
                out |= _decodings(run)
    return out


def forged(key: bytes, key_id: str, tenant_id: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": key_id, "tid": tenant_id, "env": "production"}
    claims |= {"iat": now, "exp": now + 10 * 365 * 86_400}
    return jwt.encode(claims, key, algorithm=ALGORITHM)


async def real_sends(h: Harness) -> dict[str, str]:
    """Production sends on the evaluation and sponsor APIs: {session id: delivered code}."""
    async with h.client(h.production_key) as c:
        phone = await start(c, phone=PHONE)
        await patch(c, phone["eval_id"], resend_body())
        await start(c, phone=None, email=EMAIL, channel="email")
        codes = [await h.last_code(PHONE), await h.last_code(EMAIL)]
        assert (await patch(c, phone["eval_id"], code_body(codes[0]))).status_code == 200
    setup = await set_up_sponsor(h, h.production_key)
    assert (await setup.send()).status_code == 200
    codes.append(await h.last_code(BENEFICIARY_PHONE))
    db = sqlite3.connect(h.services.settings.database_url.removeprefix("sqlite:///"))
    sessions = db.execute("SELECT id, nonce FROM verification_sessions ORDER BY created_at")
    rows = sessions.fetchall()
    db.close()
    assert len(rows) == 3
    return {f"{sid}:{nonce}": code for (sid, nonce), code in zip(rows, codes, strict=True)}


def code_of(key: bytes, subject: str, length: int) -> str:
    return Keyring({"x": key}, current="x", lookup_key=key).derive("x", *subject.split(":"), length)


async def test_a_database_copy_gives_no_code_and_no_token(tmp_path: Path) -> None:
    db_path = tmp_path / "otpgate.db"
    settings = Settings(
        database_url=f"sqlite:///{db_path}",
        secrets_file=str(tmp_path / "secrets"),
        _env_file=None,  # type: ignore[call-arg]
    )
    async with running_app(settings) as h:
        delivered = await real_sends(h)
        principal = await h.services.accounts.authenticate(h.production_key)
        assert principal is not None
        tokens = h.services.oauth.tokens

        def accepted(key: bytes) -> bool:
            try:
                tokens.read(forged(key, principal.key_id, principal.tenant.id))
            except Unauthorized:
                return False
            return True

        tried = candidates(db_path)
        assert len(tried) > 50, "the copy holds ids, hashes and nonces to try"
        for key in tried:
            for subject, code in delivered.items():
                assert code_of(key, subject, len(code)) != code, "a code from the copy alone"
            if len(key) >= 32:
                assert not accepted(key), "a token forged from the copy alone"

        # The same attack with the real secrets works: the test can see a leak.
        real = secretfile.load(settings)
        for subject, code in delivered.items():
            assert code_of(real.code[0], subject, len(code)) == code
        assert accepted(real.oauth[0])
