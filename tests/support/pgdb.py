"""A uniquely named PostgreSQL database per test run, so parallel runs never collide."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url


def _admin_dsn(server_url: str) -> str:
    url = make_url(server_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@contextmanager
def fresh_database(server_url: str, prefix: str = "otpgate_test") -> Iterator[str]:
    """Create ``<prefix>_<random>`` on the server of ``server_url``; drop it afterwards.

    Yields a plain ``postgresql://`` URL of the new database.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _admin_dsn(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
