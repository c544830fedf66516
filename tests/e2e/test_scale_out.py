"""Two ``otpgate serve`` processes, one PostgreSQL, one Redis: every limit holds across them.

A client spreads its requests over both processes from many threads at once (real
concurrency: separate processes, separate connection pools). What the processes must
agree on lives in PostgreSQL (sessions, attempts, idempotency) and Redis (rate
counters, lockouts); the assertions read PostgreSQL directly for the ground truth.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from otpgate.settings import Settings
from tests.support.pgdb import fresh_database
from tests.support.sealing import sealer_of
from tests.support.server import ServerProcess
from tests.support.services import require_postgres, require_redis
from tests.support.timing import away_from_window_edge

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

WORKFLOW = "otp_verification"


@dataclass
class Cluster:
    servers: list[ServerProcess]
    key: str
    database_url: str

    def url(self, i: int) -> str:
        return self.servers[i % len(self.servers)].url

    def request(self, i: int, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Request number ``i`` goes to process ``i % n``."""
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.request(method, self.url(i) + path, headers=headers, timeout=30, **kwargs)

    def start(self, i: int, phone: str, request_id: str | None = None) -> httpx.Response:
        body = {
            "id": request_id or f"start-{uuid.uuid4()}",
            "workflow": WORKFLOW,
            "data": {"individual": {"phone_number": phone}},
        }
        return self.request(i, "POST", "/api/evaluation", json=body)

    def patch_code(
        self, i: int, eval_id: str, code: str, request_id: str | None = None
    ) -> httpx.Response:
        body = {
            "id": request_id or f"patch-{uuid.uuid4()}",
            "data": {"individual": {"otp": {"code": code}}},
        }
        return self.request(i, "PATCH", f"/api/evaluation/{eval_id}", json=body)

    def code_for(self, i: int, phone: str) -> str:
        r = self.request(i, "GET", "/v1/outbox", params={"destination": phone})
        assert r.status_code == 200, (r.status_code, r.text)
        messages = r.json()["messages"]
        assert messages, f"no message for {phone}"
        return next(w for w in messages[0]["body"].split() if w.strip(".").isdigit()).strip(".")

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(query, args).fetchall()

    def session_of(self, phone: str) -> tuple[Any, ...]:
        """Destinations are stored sealed: open each (the servers share the test's secrets)."""
        sealer = sealer_of(Settings(_env_file=None))  # type: ignore[call-arg]
        rows = self.sql("SELECT id, attempts, state, destination FROM verification_sessions")
        found = [row[:3] for row in rows if sealer.open(row[3]) == phone]
        assert len(found) == 1, found
        return found[0]

    def audit_count(self, session_id: str, action: str) -> int:
        rows = self.sql(
            "SELECT count(*) FROM audit_events WHERE subject_id = %s AND action = %s",
            session_id,
            action,
        )
        return int(rows[0][0])


def all_at_once(n: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """Run ``call(0..n-1)`` on ``n`` threads released together."""
    barrier = threading.Barrier(n)

    def run(i: int) -> httpx.Response:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def new_phone() -> str:
    return f"+1415555{uuid.uuid4().int % 10_000:04d}"


@contextmanager
def cluster_of(tmp: Path, extra_env: dict[str, str], n: int = 2) -> Iterator[Cluster]:
    """``n`` servers on a fresh PostgreSQL database and a Redis namespace of their own."""
    tmp.mkdir(parents=True, exist_ok=True)
    with fresh_database(require_postgres(), prefix="otpgate_e2e") as database_url:
        env = {
            "OTPGATE_DATABASE_URL": database_url,
            "OTPGATE_REDIS_URL": require_redis(),
            "OTPGATE_REDIS_KEY_PREFIX": f"otpgate-e2e-{uuid.uuid4().hex[:12]}:",
            "OTPGATE_SMS_PROVIDERS": "outbox",
            "OTPGATE_PRODUCTION_OUTBOX": "true",
            "OTPGATE_KEY_CACHE_SECONDS": "0",
            "OTPGATE_LOG_LEVEL": "warning",
            **extra_env,
        }
        servers = [ServerProcess(env, tmp / f"server-{i}.log") for i in range(n)]
        try:
            yield Cluster(servers, "", database_url)
        finally:
            for s in servers:
                s.stop()
            client = redis.Redis.from_url(env["OTPGATE_REDIS_URL"])
            prefix = env["OTPGATE_REDIS_KEY_PREFIX"]
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


def boot(clusters: list[Cluster]) -> None:
    """Start every server at once. Each cluster's servers start together on an empty
    database, so the migration lock must serialise their migrations."""
    errors: list[BaseException] = []

    def start(server: ServerProcess) -> None:
        try:
            server.start(timeout=120)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for c in clusters for s in c.servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, [s.logs() for c in clusters for s in c.servers]
    for c in clusters:
        c.key = (
            c.servers[0]
            .cli("keys", "create", "--environment", "production", "--tenant", "acme")
            .strip()
            .splitlines()[-1]
        )


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Cluster]]:
    """Two clusters of two processes, booted in parallel (starting a process is the slow
    part): one with the default limits, one whose verify limit (3/min) is below the
    attempt limit, so that the verify rate is what refuses."""
    tmp = tmp_path_factory.mktemp("clusters")
    with (
        cluster_of(tmp / "default", {}) as default,
        cluster_of(tmp / "strict", {"OTPGATE_VERIFY_LIMIT_PER_MINUTE": "3"}) as strict,
    ):
        boot([default, strict])
        yield {"default": default, "strict": strict}


@pytest.fixture
def cluster(clusters: dict[str, Cluster]) -> Cluster:
    return clusters["default"]


@pytest.fixture
def strict_cluster(clusters: dict[str, Cluster]) -> Cluster:
    return clusters["strict"]


def test_both_processes_are_ready_on_postgres_and_redis(cluster: Cluster) -> None:
    for i in range(2):
        ready = httpx.get(cluster.url(i) + "/readyz").json()
        assert ready == {
            "status": "ok",
            "database": "ok",
            "database_backend": "postgresql",
            "redis": "ok",
        }


def test_a_code_sent_through_one_process_verifies_through_the_other(cluster: Cluster) -> None:
    phone = new_phone()
    started = cluster.start(0, phone)
    assert started.status_code == 200, started.text
    code = cluster.code_for(1, phone)
    verified = cluster.patch_code(1, started.json()["eval_id"], code)
    assert verified.status_code == 200, verified.text
    assert (verified.json()["status"], verified.json()["decision"]) == ("CLOSED", "ACCEPT")


def test_concurrent_wrong_codes_across_processes_evaluate_max_attempts_then_lock(
    cluster: Cluster,
) -> None:
    phone = new_phone()
    eval_id = cluster.start(0, phone).json()["eval_id"]
    bad = str((int(cluster.code_for(0, phone)) + 1) % 10**6).zfill(6)

    answers = all_at_once(10, lambda i: cluster.patch_code(i, eval_id, bad))

    assert {r.status_code for r in answers} <= {400, 409, 429}
    session_id, attempts, state = cluster.session_of(phone)
    assert (attempts, state) == (5, "failed")
    assert cluster.audit_count(session_id, "session.attempt_failed") == 4
    assert cluster.audit_count(session_id, "session.failed") == 1
    # The lockout is seen by both processes.
    for i in range(2):
        refused = cluster.start(i, phone)
        assert refused.status_code == 429, refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= 600


def test_concurrent_correct_codes_across_processes_succeed_once(cluster: Cluster) -> None:
    phone = new_phone()
    eval_id = cluster.start(0, phone).json()["eval_id"]
    code = cluster.code_for(1, phone)

    answers = all_at_once(8, lambda i: cluster.patch_code(i, eval_id, code))

    assert [r.status_code for r in answers].count(200) == 1, [r.text for r in answers]
    session_id, _attempts, state = cluster.session_of(phone)
    assert state == "verified"
    assert cluster.audit_count(session_id, "session.verified") == 1


def test_concurrent_sends_across_processes_admit_exactly_the_limit(cluster: Cluster) -> None:
    phone = new_phone()
    away_from_window_edge()
    answers = all_at_once(12, lambda i: cluster.start(i, phone))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * 5 + [429] * 7, [r.text for r in answers]
    assert all("Retry-After" in r.headers for r in answers if r.status_code == 429)
    sealer = sealer_of(Settings(_env_file=None))  # type: ignore[call-arg]
    stored = cluster.sql("SELECT destination FROM verification_sessions")
    assert sum(sealer.open(d) == phone for (d,) in stored) == 5


def test_a_repeated_post_id_across_processes_starts_one_evaluation(cluster: Cluster) -> None:
    phone, request_id = new_phone(), f"signup-{uuid.uuid4()}"
    answers = all_at_once(8, lambda i: cluster.start(i, phone, request_id))
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers]
    assert len({r.json()["eval_id"] for r in answers}) == 1
    cluster.session_of(phone)  # exactly one session, so exactly one code sent
    outbox = cluster.request(1, "GET", "/v1/outbox", params={"destination": phone}).json()
    assert len(outbox["messages"]) == 1


def test_a_repeated_patch_id_across_processes_is_applied_once(cluster: Cluster) -> None:
    phone = new_phone()
    eval_id = cluster.start(0, phone).json()["eval_id"]
    bad = str((int(cluster.code_for(0, phone)) + 1) % 10**6).zfill(6)
    request_id = f"patch-{uuid.uuid4()}"

    answers = all_at_once(8, lambda i: cluster.patch_code(i, eval_id, bad, request_id))

    assert {r.status_code for r in answers} == {400}, [r.text for r in answers]
    assert {r.json()["attempts_remaining"] for r in answers} == {4}
    assert cluster.session_of(phone)[1] == 1


def test_the_verify_rate_holds_across_processes(strict_cluster: Cluster) -> None:
    phone = new_phone()
    eval_id = strict_cluster.start(0, phone).json()["eval_id"]
    bad = str((int(strict_cluster.code_for(0, phone)) + 1) % 10**6).zfill(6)

    away_from_window_edge()
    answers = all_at_once(12, lambda i: strict_cluster.patch_code(i, eval_id, bad))

    codes = sorted(r.status_code for r in answers)
    assert codes == [400] * 3 + [429] * 9, [r.text for r in answers]
    assert strict_cluster.session_of(phone)[1] == 3
