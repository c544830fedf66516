"""Misbehaving TCP servers: one that never answers, one that hangs up on every request."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def tcp_server(close_after_read: bool) -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            if close_after_read:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def silent_server() -> contextlib.AbstractContextManager[int]:
    """Accepts connections and never says a word."""
    return tcp_server(close_after_read=False)


def hang_up_server() -> contextlib.AbstractContextManager[int]:
    """Reads the request, then closes the connection without answering."""
    return tcp_server(close_after_read=True)
