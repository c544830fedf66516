"""Reaching the machine's PostgreSQL and Redis: skip on a laptop, fail under CI=true."""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES_URL = os.environ.get(
    "OTPGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("OTPGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing(reason: str) -> None:
    """Skip with ``reason``; under CI a missing service is a failure, never a silent skip."""
    if in_ci():
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_postgres() -> str:
    if not port_open("127.0.0.1", 5432):
        missing("PostgreSQL is not reachable on 127.0.0.1:5432")
    return POSTGRES_URL


def require_redis() -> str:
    if not port_open("127.0.0.1", 6379):
        missing("Redis is not reachable on 127.0.0.1:6379")
    return REDIS_URL
