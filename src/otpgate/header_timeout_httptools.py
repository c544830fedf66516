"""The header-read timeout on uvicorn's httptools protocol (``header_timeout.py``);
importing this module fails when httptools is not installed."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from otpgate.header_timeout import _HeaderDeadline


class GuardedHttpToolsProtocol(_HeaderDeadline, HttpToolsProtocol):
    pass
