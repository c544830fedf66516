"""``kill -9`` of a real server in the middle of a burst, on SQLite and on PostgreSQL.

After a restart every request id replays or applies cleanly (no idempotency record is
left without its answer, nothing answers "still being processed"), every evaluation that
waits for a code has a pending session a user can finish, and the audit trail holds
exactly one event for each state change that exists: each evaluation was created with an
event, each session started with one, and every attempt a session counts has its event.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from otpgate.testing.app import CODE_IN_BODY
from tests.support.guard import GUARD_ENV_OUT_OF_THE_WAY
from tests.support.pgdb import fresh_database
from tests.support.server import ServerProcess
from tests.support.services import require_postgres

from .conftest import server_env

pytestmark = pytest.mark.e2e
BURST = 50


class Db:
    """Reads the server's database directly (SQLite file or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        if self.url.startswith("sqlite"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as db:
                return db.execute(query).fetchall()
        with psycopg.connect(self.url) as conn:
            return conn.execute(query).fetchall()


@contextmanager
def backend(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/otpgate.db"
        return
    with fresh_database(require_postgres()) as url:
        yield url


def _burst(server: ServerProcess, key: str, phones: list[str], delay: float) -> None:
    """Starts and wrong and right codes, from many threads, until the server dies."""
    headers = {"Authorization": f"Bearer {key}"}
    go = threading.Barrier(BURST + 1)

    def worker(i: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as c:
            go.wait()
            try:
                r = c.post("/api/evaluation", json=_start(i, phones[i]))
                ev = r.json()
                for j, code in enumerate(_codes(c, phones[i])):
                    c.patch(f"/api/evaluation/{ev['eval_id']}", json=_patch(i, j, code))
            except (httpx.HTTPError, KeyError, ValueError, AssertionError):
                return  # the server died under this request

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(BURST)]
    for t in threads:
        t.start()
    go.wait()
    time.sleep(delay)
    assert server.proc is not None
    _kill_tree(server.proc.pid)
    server.proc.wait()
    for t in threads:
        t.join(timeout=30)


def _codes(c: httpx.Client, phone: str) -> list[str]:
    """Two wrong codes, then the right one (read from the outbox)."""
    messages = c.get("/v1/outbox", params={"destination": phone}).json()["messages"]
    assert messages, f"no code was sent to {phone}"
    found = CODE_IN_BODY.search(messages[0]["body"])
    assert found is not None
    right = found.group(1)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    return [wrong, wrong, right]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _kill_tree(pid: int) -> None:
    """``kill -9`` the server and its worker processes at once: nothing gets to clean up."""
    for child in _children(pid):
        os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


def _start(i: int, phone: str) -> dict[str, Any]:
    return {
        "id": f"crash-{i}",
        "workflow": "otp_verification",
        "data": {"individual": {"phone_number": phone}},
    }


def _patch(i: int, j: int, code: str) -> dict[str, Any]:
    return {"id": f"crash-{i}-{j}", "data": {"individual": {"otp": {"code": code}}}}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_killed_server_leaves_every_request_replayable(kind: str, tmp_path: Path) -> None:
    with backend(kind, tmp_path) as url:
        env = {**server_env(tmp_path), "OTPGATE_DATABASE_URL": url, **GUARD_ENV_OUT_OF_THE_WAY}
        server = ServerProcess(env, tmp_path / "server.log", workers=2)
        # A production key on the outbox provider: real codes, kept where the test reads them.
        key = server.cli("keys", "create", "--environment", "production").strip().splitlines()[-1]
        phones = [f"+1415555{i:04d}" for i in range(BURST)]
        db = Db(url)
        applied = []
        for delay in (0.05, 0.2, 0.4):  # three bursts of the same requests, cut at 3 points
            server.start()
            try:
                _burst(server, key, phones, delay)
            finally:
                server.stop()
            applied.append(db.rows("SELECT COUNT(*) FROM idempotency_records")[0][0])
        # The first kill landed mid-burst: some requests never got to the database.
        assert applied[0] < 3 * BURST, applied
        assert db.rows("SELECT COUNT(*) FROM idempotency_records WHERE status_code IS NULL") == [
            (0,)
        ]

        with (
            server,
            httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as c,
        ):
            for i in range(BURST):
                again = c.post("/api/evaluation", json=_start(i, phones[i]))
                assert again.status_code == 200, again.text
                ev = again.json()
                for j, code in enumerate(_codes(c, phones[i])):
                    r = c.patch(f"/api/evaluation/{ev['eval_id']}", json=_patch(i, j, code))
                    assert r.status_code in (200, 400, 409), r.text
                    assert "still being processed" not in r.text
                final = c.get(f"/api/evaluation/{ev['eval_id']}").json()
                # Each evaluation could be finished: the burst's right code (or its replay) did.
                assert (final["status"], final["decision"]) == ("CLOSED", "ACCEPT"), final

        _assert_audit_matches_state(db)


def _assert_audit_matches_state(db: Db) -> None:
    evaluations = {r[0] for r in db.rows("SELECT id FROM evaluations")}
    created = db.rows(
        "SELECT subject_id, COUNT(*) FROM audit_events WHERE subject_type = 'evaluation'"
        " AND action = 'created' GROUP BY subject_id"
    )
    assert {r[0] for r in created} == evaluations
    assert all(r[1] == 1 for r in created)
    sessions = {
        r[0]: (r[1], r[2]) for r in db.rows("SELECT id, attempts, state FROM verification_sessions")
    }
    events: dict[str, list[str]] = {}
    for subject, action in db.rows(
        "SELECT subject_id, action FROM audit_events WHERE subject_type = 'session'"
    ):
        events.setdefault(subject, []).append(action)
    assert set(events) == set(sessions)
    for sid, (attempts, state) in sessions.items():
        actions = events[sid]
        assert actions.count("session.started") == 1
        counted = [
            a
            for a in actions
            if a in ("session.attempt_failed", "session.verified", "session.failed")
        ]
        assert len(counted) == attempts, (sid, actions, attempts)
        assert ("session.verified" in actions) == (state == "verified")
