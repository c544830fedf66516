"""Slow clients are cut off: a request head that trickles in is closed after
``OTPGATE_HEADER_TIMEOUT_SECONDS`` (issue 11, point 10), on a real server process.

Loopback only, bounded: 20 sockets, each test well under 15 s.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess

from .conftest import server_env

pytestmark = pytest.mark.e2e
TIMEOUT = 1.0
SLOW_SOCKETS = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp_path: Path = tmp_path_factory.mktemp("slow")
    env = {**server_env(tmp_path), "OTPGATE_HEADER_TIMEOUT_SECONDS": str(TIMEOUT)}
    with ServerProcess(env, tmp_path / "server.log") as srv:
        yield srv


def connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def closed(sock: socket.socket) -> bool:
    """Whether the server has closed this connection (EOF or reset), waiting briefly."""
    sock.settimeout(0.05)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def trickle(sockets: list[socket.socket], until: float) -> float | None:
    """Send one header line a time to each open socket until all are closed or ``until``;
    the time at which the last one was closed."""
    line = 0
    while time.monotonic() < until:
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed
                sock.sendall(f"X-Slow-{line}: a\r\n".encode())
        line += 1
        time.sleep(0.25)
        if all(closed(s) for s in sockets):
            return time.monotonic()
    return None


def test_a_request_head_sent_slowly_is_cut_off(server: ServerProcess) -> None:
    sockets = [connect(server) for _ in range(SLOW_SOCKETS)]
    try:
        began = time.monotonic()
        for sock in sockets:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        done = trickle(sockets, until=began + 10 * TIMEOUT)
        assert done is not None, "slow clients were still connected after 10x the timeout"
        assert done - began < 5 * TIMEOUT
    finally:
        for sock in sockets:
            sock.close()


def test_a_silent_connection_is_cut_off(server: ServerProcess) -> None:
    sock = connect(server)
    try:
        began = time.monotonic()
        while not closed(sock):
            assert time.monotonic() - began < 10 * TIMEOUT, "a silent socket stayed open"
        assert time.monotonic() - began >= TIMEOUT * 0.9
    finally:
        sock.close()


def test_prompt_requests_on_a_kept_alive_connection_are_answered(server: ServerProcess) -> None:
    sock = connect(server)
    try:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            sock.settimeout(5)
            answer = b""
            while not answer.endswith(b'{"status":"ok"}'):
                chunk = sock.recv(4096)
                assert chunk, f"closed mid-answer: {answer!r}"
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200"), answer
            time.sleep(TIMEOUT * 1.5)  # idle past the head timeout between requests: allowed
    finally:
        sock.close()
