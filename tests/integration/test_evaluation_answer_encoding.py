"""A PATCH's first answer is encoded once, stored sealed and sent as it is; a repeat of
its request id is answered from the record (``web/routing.json_text``)."""

from __future__ import annotations

import json

from otpgate.adapters.sql.database import SqliteDatabase
from otpgate.testing.app import Harness

PHONE = "+14155550177"


async def test_a_repeat_gets_the_same_answer_as_the_first_request(harness: Harness) -> None:
    async with harness.client(harness.production_key) as c:
        started = await c.post(
            "/api/evaluation",
            json={
                "id": "enc-1",
                "workflow": "otp_verification",
                "data": {"individual": {"phone_number": PHONE, "given_name": "Zoë"}},
            },
        )
        eval_id = started.json()["eval_id"]
        code = await harness.last_code(PHONE)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        patch = {"id": "enc-p1", "data": {"individual": {"otp": {"code": wrong}}}}
        first = await c.patch(f"/api/evaluation/{eval_id}", json=patch)
        again = await c.patch(f"/api/evaluation/{eval_id}", json=patch)
    assert first.status_code == again.status_code == 400
    assert first.headers["content-type"] == again.headers["content-type"] == "application/json"
    assert first.json() == again.json()
    assert first.json()["msg"] == "Invalid code"
    # The first answer went out compact, as JSONResponse writes it, and the record holds
    # that very text, sealed (it used to be encoded a second time, with other spacing).
    assert (
        first.content
        == json.dumps(first.json(), ensure_ascii=False, separators=(",", ":")).encode()
    )
    database = harness.services.database
    assert isinstance(database, SqliteDatabase)
    (stored,) = database.conn.execute(
        "SELECT body FROM idempotency_records WHERE request_id = 'enc-p1'"
    ).fetchone()
    sealer = harness.services.uow.sealer  # type: ignore[attr-defined]
    assert sealer.open(json.loads(stored)).encode() == first.content
