"""Real concurrency against a real 2-worker server: attempts stay atomic."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from typing import Any

import httpx
import pytest

from .conftest import Live

pytestmark = pytest.mark.e2e

PHONE = "+14155550100"
PHONE_2 = "+14155550102"


def _start(live: Live, phone: str = PHONE) -> dict[str, Any]:
    with live.client() as c:
        r = c.post(
            "/api/evaluation",
            json={
                "id": f"start-{phone}",
                "workflow": "otp_verification",
                "data": {"individual": {"phone_number": phone}},
            },
        )
    assert r.status_code == 200, r.text
    return r.json()


def _fire(
    live: Live, eval_id: str, codes: list[str], prefix: str = "guess"
) -> list[httpx.Response]:
    """PATCH every code at once, one thread and one connection each."""
    barrier = threading.Barrier(len(codes))
    results: list[httpx.Response | None] = [None] * len(codes)

    def worker(i: int) -> None:
        with live.client() as c:
            body = {"id": f"{prefix}-{i}", "data": {"individual": {"otp": {"code": codes[i]}}}}
            req = c.build_request("PATCH", f"/api/evaluation/{eval_id}", json=body)
            barrier.wait()
            results[i] = c.send(req)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(codes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def _session_attempts(live: Live, session_id: str) -> tuple[int, str]:
    with sqlite3.connect(live.db_path) as db:
        row = db.execute(
            "SELECT attempts, state FROM verification_sessions WHERE id = ?", (session_id,)
        ).fetchone()
    return int(row[0]), str(row[1])


def _wrong(code: str) -> str:
    return str((int(code) + 1) % 1_000_000).zfill(6)


def test_forty_concurrent_wrong_guesses_evaluate_at_most_five(live_server: Live) -> None:
    ev = _start(live_server)
    code = live_server.last_code(PHONE)
    answers = _fire(live_server, ev["eval_id"], [_wrong(code)] * 40)

    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {400, 409, 429}, statuses
    assert all(r.json()["msg"] for r in answers)

    with live_server.client() as c:
        final = c.get(f"/api/evaluation/{ev['eval_id']}").json()
    assert (final["status"], final["sub_status"], final["decision"]) == (
        "CLOSED",
        "Max attempts reached",
        "REJECT",
    )
    verifies = [e for e in final["data_enrichments"] if e["enrichment_name"].startswith("Verify")]
    assert 1 <= len(verifies) <= 5
    assert [v["response"]["status"] for v in verifies].count("reject") == 1
    assert final["attempts_remaining"] == 0
    session_id = ev["data_enrichments"][0]["response"]["verificationId"]
    attempts, state = _session_attempts(live_server, session_id)
    assert attempts == 5 and state == "failed"
    # Even the right code is now refused.
    late = _fire(live_server, ev["eval_id"], [code], prefix="late")
    assert late[0].status_code == 409


def test_twelve_concurrent_correct_codes_succeed_exactly_once(live_server: Live) -> None:
    ev = _start(live_server, PHONE_2)
    code = live_server.last_code(PHONE_2)
    answers = _fire(live_server, ev["eval_id"], [code] * 12)

    statuses = Counter(r.status_code for r in answers)
    assert statuses[200] == 1, [(r.status_code, r.json().get("msg")) for r in answers]
    assert set(statuses) <= {200, 409, 429}, statuses
    assert not [r for r in answers if r.json().get("msg") == "Invalid code"]
    [winner] = [r.json() for r in answers if r.status_code == 200]
    assert (winner["status"], winner["sub_status"], winner["decision"]) == (
        "CLOSED",
        "Approve",
        "ACCEPT",
    )
    with live_server.client() as c:
        final = c.get(f"/api/evaluation/{ev['eval_id']}").json()
    assert (final["status"], final["decision"]) == ("CLOSED", "ACCEPT")
    verifies = [e for e in final["data_enrichments"] if e["enrichment_name"].startswith("Verify")]
    assert [v["response"]["status"] for v in verifies] == ["approved"]
