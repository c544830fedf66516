"""The bench's seeder (``bench/seed.py``) writes rows the current schema and server accept:
a seeded evaluation answers GET, and its seeded code closes it. A new column or a changed
row shape breaks this test before it breaks ``make bench``."""

from __future__ import annotations

import base64
import secrets

from bench.seed import lookup_key_for, seed, tenant_id_of

from otpgate.core.model import Environment
from otpgate.settings import Settings
from otpgate.testing.app import running_app


async def test_seeded_evaluations_answer_and_close_with_their_code(tmp_path):
    db = tmp_path / "otpgate.db"
    secret = secrets.token_bytes(32)
    settings = Settings(
        database_url=f"sqlite:///{db}",
        code_secret=base64.b64encode(secret).decode(),
        lookup_key=base64.b64encode(lookup_key_for(secret)).decode(),
        _env_file=None,
    )
    async with running_app(settings) as h:
        key = (await h.services.accounts.create_key("bench", Environment.PRODUCTION)).key
        rows = seed(
            str(db),
            tenant_id=tenant_id_of(str(db), "bench"),
            secret=secret,
            count=3,
            max_attempts=3,
            ttl=3600,
            prefix="t",
        )
        async with h.client(key) as c:
            got = await c.get(f"/api/evaluation/{rows[0].eval_id}")
            assert got.status_code == 200, got.text
            assert got.json()["sub_status"] == "Pending OTP Code"
            done = await c.patch(
                f"/api/evaluation/{rows[0].eval_id}",
                json={"id": "seed-1", "data": {"individual": {"otp": {"code": rows[0].code}}}},
            )
            assert done.status_code == 200, done.text
            assert done.json()["status"] == "CLOSED"
