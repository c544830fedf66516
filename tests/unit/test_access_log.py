"""The per-request line (``observability.AccessLog``): written directly in JSON, through
structlog in the console format, and not at all above the info level."""

from __future__ import annotations

import io
import json

import pytest

from otpgate.observability import AccessLog, configure_logging


@pytest.fixture(autouse=True)
def _restore_logging():
    yield
    configure_logging("info", True)


def test_a_json_line_carries_the_request_in_structlogs_order() -> None:
    log = AccessLog()
    log.configure("info", json_lines=True)
    log.stream = io.StringIO()
    log.line("PATCH", "/api/evaluation/{eval_id}", 400, 1.25, "abc123")
    line = log.stream.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    fields = json.loads(line)
    assert list(fields) == [
        "method",
        "route",
        "status",
        "duration_ms",
        "event",
        "request_id",
        "level",
        "timestamp",
    ]
    assert fields["status"] == 400 and fields["request_id"] == "abc123"
    assert fields["timestamp"].endswith("Z")


def test_above_info_nothing_is_written() -> None:
    log = AccessLog()
    log.configure("warning", json_lines=True)
    log.stream = io.StringIO()
    log.line("GET", "/healthz", 200, 0.1, "r")
    assert log.stream.getvalue() == ""


def test_the_console_format_goes_through_structlog(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json=False)
    log = AccessLog()
    log.configure("info", json_lines=False)
    assert log.stream is None
    log.line("GET", "/healthz", 200, 0.1, "r")
    err = capsys.readouterr().err
    assert "request" in err and "/healthz" in err and not err.lstrip().startswith("{")
