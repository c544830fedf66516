"""Pure ASGI middleware: request ids, access logs, latency metrics and a body size cap."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from otpgate.observability import ACCESS_LOG, Metrics


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self._latency: dict[tuple[str, str], Any] = {}  # the histogram's child per route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 100 and incoming.isprintable() else ""
        # 128 random bits in hex, as uuid4().hex gives but without building a UUID.
        request_id = request_id or os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = {"code": 500}

        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _too_large(send, request_id, self.max_body_bytes)
            status["code"] = 413
            self._finish(scope, status["code"], started)
            return

        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def send_wrapper(message: Message) -> None:
            if too_large:
                # A body parser may swallow BodyTooLarge and answer 400: the 413 replaces it.
                return
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            try:
                await self.app(scope, limited_receive, send_wrapper)
            except Exception:
                if not too_large:  # past the cap, whatever the app raised is moot
                    raise
            if too_large:
                status["code"] = 413
                await _too_large(send, request_id, self.max_body_bytes)
        finally:
            self._finish(scope, status["code"], started)
            structlog.contextvars.unbind_contextvars("request_id")

    def _finish(self, scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        histogram = self._latency.get((method, template))
        if histogram is None:
            histogram = self._latency[method, template] = self.metrics.latency.labels(
                method, template
            )
        histogram.observe(elapsed)
        request_id = scope.get("state", {}).get("request_id", "")
        ACCESS_LOG.line(method, template, status, round(elapsed * 1000, 2), request_id)


class BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, request_id: str, limit: int) -> None:
    body: dict[str, Any] = {"msg": f"request body exceeds {limit} bytes", "field": "body"}
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", request_id.encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
