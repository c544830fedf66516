"""The evaluation answers stay exact now that requests re-read less (bench/cpu.py)."""

from __future__ import annotations

from otpgate.adapters.sql.database import SqliteDatabase
from otpgate.testing.app import Harness

PHONE = "+14155550142"


def _count_statements(harness: Harness) -> list[str]:
    """The statements the hot path runs on its two raw sqlite3 connections (writer and
    reader), without BEGIN, COMMIT and ROLLBACK."""
    database = harness.services.database
    assert isinstance(database, SqliteDatabase)
    statements: list[str] = []

    def trace(sql: str) -> None:
        if not sql.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(sql)

    database.conn.set_trace_callback(trace)
    database._reader.set_trace_callback(trace)
    return statements


async def test_each_answer_shows_the_state_it_left_and_reads_less(harness: Harness) -> None:
    statements = _count_statements(harness)
    async with harness.client(harness.production_key) as c:
        started = await c.post(
            "/api/evaluation",
            json={"id": "e1", "workflow": "otp_verification",
                  "data": {"individual": {"phone_number": PHONE}}},
        )  # fmt: skip
        body = started.json()
        assert body["sub_status"] == "Pending OTP Code"
        assert [e["enrichment_name"] for e in body["data_enrichments"]] == ["Deliver OTP SMS"]
        assert body["attempts_remaining"] == 5
        eval_id = body["eval_id"]
        code = await harness.last_code(PHONE)
        wrong = f"{(int(code) + 1) % 10**6:06d}"

        statements.clear()
        bad = await c.patch(
            f"/api/evaluation/{eval_id}",
            json={"id": "p1", "data": {"individual": {"otp": {"code": wrong}}}},
        )
        patch_statements = len(statements)
        assert bad.status_code == 400
        assert bad.json()["attempts_remaining"] == 4
        assert [e["response"]["status"] for e in bad.json()["data_enrichments"][1:]] == ["pending"]

        statements.clear()
        got = (await c.get(f"/api/evaluation/{eval_id}")).json()
        get_statements = len(statements)
        assert got["attempts_remaining"] == 4
        assert got["data_enrichments"] == bad.json()["data_enrichments"]

        statements.clear()
        good = await c.patch(
            f"/api/evaluation/{eval_id}",
            json={"id": "p2", "data": {"individual": {"otp": {"code": code}}}},
        )
        right_statements = len(statements)
        assert good.status_code == 200
        closed = good.json()
        assert (closed["status"], closed["sub_status"], closed["decision"]) == (
            "CLOSED", "Approve", "ACCEPT",
        )  # fmt: skip
        assert closed["attempts_remaining"] == 3
        assert [e["response"].get("status") for e in closed["data_enrichments"][1:]] == [
            "pending",
            "approved",
        ]
        assert (await c.get(f"/api/evaluation/{eval_id}")).json() == {**closed, "id": "e1"}
    # Before: a wrong-code PATCH ran 16 statements, then 11; a right-code PATCH 16, then 13;
    # a GET 6, then 2. The answers above equal what GET reads back, so nothing was left out.
    # The right-code PATCH also writes the evaluation's own audit event (state_changed).
    assert patch_statements == 8, statements
    assert right_statements == 11
    assert get_statements == 1  # the evaluation, its enrichments and its session, joined
