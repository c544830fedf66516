"""A header-read timeout for uvicorn: a client gets ``OTPGATE_HEADER_TIMEOUT_SECONDS`` to
send a request's line and headers, or its connection is closed.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) but waits forever for
a request whose headers trickle in, a byte at a time (slowloris): 1,500 such sockets were
all held open. Neither of its HTTP parsers (h11, httptools) has a header timeout, so the
guard sits on uvicorn's own protocol classes: a timer starts when a connection opens, or
when the first bytes of a next request arrive on a kept-alive one, and stops as soon as
the parser has the whole head (uvicorn then makes a new request cycle). When it fires
first, the connection is closed without an answer. The body and the application's own
time are not limited here (``OTPGATE_MAX_BODY_BYTES`` bounds the body).

``otpgate serve`` passes the setting to every worker process in ``HEADER_TIMEOUT_ENV``
(workers are spawned, so the classes are module-level and read it once).
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_ENV = "OTPGATE_INTERNAL_HEADER_TIMEOUT"
DEFAULT_SECONDS = 10.0


@functools.cache
def header_timeout() -> float:
    return float(os.environ.get(HEADER_TIMEOUT_ENV, DEFAULT_SECONDS))


class _HeaderDeadline:
    """Mixed into a uvicorn HTTP protocol: closes a connection whose head is late."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        if self._head_timer is None and (cycle is None or cycle.response_complete):
            self._start_head_timer()  # the first bytes of a next request on a kept-alive one
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not cycle:  # the parser has the whole head: a new request cycle
            self._stop_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)  # type: ignore[misc]

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(header_timeout(), self._head_too_late)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_late(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


class GuardedH11Protocol(_HeaderDeadline, H11Protocol):
    pass


def protocol_class() -> type[asyncio.Protocol]:
    """httptools when it is installed (uvicorn's own "auto" choice), else h11."""
    try:
        from otpgate.header_timeout_httptools import GuardedHttpToolsProtocol
    except ImportError:
        return GuardedH11Protocol
    return GuardedHttpToolsProtocol
