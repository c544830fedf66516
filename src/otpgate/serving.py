"""``otpgate serve``: run uvicorn and print one line once the server answers.

The line says where to point a browser and what the process is connected to::

    otpgate ready: http://127.0.0.1:8000 | database sqlite:///./var/otpgate.db | redis off |
    demo page on (http://127.0.0.1:8000/) | production codes kept in the outbox |
    docs http://127.0.0.1:8000/docs

(one line on the terminal). Database and Redis URLs are shown without user, password or
query string. The socket is bound before the application starts, so when the line
appears, connections are accepted. With several workers the first one ready prints it;
the others stay quiet (a marker file made with ``O_EXCL`` decides).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from otpgate.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LINE_ENV = "OTPGATE_INTERNAL_READY_LINE"
MARKER_ENV = "OTPGATE_INTERNAL_READY_MARKER"


def without_credentials(url: str) -> str:
    """``postgresql://u:p@db:5432/x?sslmode=require`` → ``postgresql://db:5432/x``."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2]
    return f"{scheme}{sep}{host}{slash}{path.split('?', 1)[0]}"


def start_line(settings: Settings, base_url: str) -> str:
    redis = f"redis on ({without_credentials(settings.redis_url)})" if settings.redis_url else ""
    demo = f"demo page on ({base_url}/)" if settings.demo_enabled else "demo page off"
    outbox = (
        "production codes kept in the outbox (OTPGATE_PRODUCTION_OUTBOX: development only)"
        if settings.production_outbox
        else "production outbox off"
    )
    return " | ".join(
        [
            f"otpgate ready: {base_url}",
            f"database {without_credentials(settings.database_url)}",
            redis or "redis off",
            demo,
            outbox,
            f"docs {base_url}/docs",
        ]
    )


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Announce:
    """ASGI wrapper: prints ``line`` when the wrapped app reports its startup complete."""

    def __init__(self, app: ASGIApp, line: str, marker: str | None) -> None:
        self.app = app
        self.line = line
        self.marker = marker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def announcing_send(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete" and self._first():
                print(self.line, flush=True)

        await self.app(scope, receive, announcing_send)

    def _first(self) -> bool:
        if self.marker is None:
            return True
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return False
        return True


def create_announced_app() -> ASGIApp:
    """The uvicorn factory ``serve`` uses: the app of ``create_app_from_env``, announced."""
    from otpgate.app import create_app_from_env

    app: ASGIApp = create_app_from_env()
    line = os.environ.get(LINE_ENV)
    if not line:
        return app
    return Announce(app, line, os.environ.get(MARKER_ENV))


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Bind ``host:port``, then run ``workers`` uvicorn processes on that socket."""
    from otpgate.observability import configure_logging

    configure_logging(settings.log_level, settings.log_json)  # uvicorn's lines redacted too

    from otpgate.header_timeout import HEADER_TIMEOUT_ENV, protocol_class

    os.environ[HEADER_TIMEOUT_ENV] = str(settings.header_timeout_seconds)
    config = uvicorn.Config(
        "otpgate.serving:create_announced_app",
        factory=True,
        http=protocol_class(),
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )
    sock = config.bind_socket()
    marker_dir = tempfile.mkdtemp(prefix="otpgate-serve-")
    os.environ[LINE_ENV] = start_line(settings, base_url(host, sock.getsockname()[1]))
    os.environ[MARKER_ENV] = os.path.join(marker_dir, "announced")
    try:
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[sock]).run()
            return
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
        if not server.started:
            sys.exit(3)  # uvicorn's own status when the application fails to start
    finally:
        sock.close()
        shutil.rmtree(marker_dir, ignore_errors=True)
        os.environ.pop(LINE_ENV, None)
        os.environ.pop(MARKER_ENV, None)
        os.environ.pop(HEADER_TIMEOUT_ENV, None)
