from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess


@dataclass
class Live:
    """A real ``otpgate serve`` on SQLite under tmp_path, with a production key."""

    server: ServerProcess
    key: str
    db_path: Path

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30.0,
        )

    def last_code(self, destination: str) -> str:
        with self.client() as c:
            r = c.get("/v1/outbox", params={"destination": destination})
        r.raise_for_status()
        messages = r.json()["messages"]
        assert messages, f"no message for {destination}"
        from otpgate.testing.app import CODE_IN_BODY

        found = CODE_IN_BODY.search(messages[0]["body"])
        assert found is not None
        return found.group(1)


def server_env(tmp_path: Path) -> dict[str, str]:
    return {
        "OTPGATE_DATABASE_URL": f"sqlite:///{tmp_path}/otpgate.db",
        "OTPGATE_SMS_PROVIDERS": "outbox",
        "OTPGATE_VOICE_PROVIDERS": "outbox",
        "OTPGATE_EMAIL_PROVIDERS": "outbox",
        "OTPGATE_PRODUCTION_OUTBOX": "true",  # the tests read production codes back
        "OTPGATE_LOG_JSON": "true",
    }


def production_key(server: ServerProcess) -> str:
    return server.cli("keys", "create", "--environment", "production").strip().splitlines()[-1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One 2-worker server per test module (tests use distinct destinations)."""
    tmp_path = tmp_path_factory.mktemp("live")
    server = ServerProcess(server_env(tmp_path), tmp_path / "server.log", workers=2)
    key = production_key(server)
    with server:
        yield Live(server=server, key=key, db_path=tmp_path / "otpgate.db")
