"""``OTPGATE_DATABASE_URL`` takes the URLs people already have."""

from __future__ import annotations

import pytest

from otpgate.adapters.sql.db import async_url
from otpgate.settings import Settings


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("sqlite:///var/otpgate.db", "sqlite+aiosqlite:///var/otpgate.db"),
        ("postgresql://otp@db/otpgate", "postgresql+asyncpg://otp@db/otpgate"),
        (
            "postgresql+psycopg://otp:pw@db:5433/otpgate",
            "postgresql+asyncpg://otp:pw@db:5433/otpgate",
        ),
        ("postgresql+psycopg2://otp@db/otpgate", "postgresql+asyncpg://otp@db/otpgate"),
        ("postgresql+asyncpg://otp@db/otpgate", "postgresql+asyncpg://otp@db/otpgate"),
        (
            "postgresql://otp@db/otpgate?sslmode=require",
            "postgresql+asyncpg://otp@db/otpgate?ssl=require",
        ),
    ],
)
def test_urls_map_to_the_async_drivers(given: str, used: str) -> None:
    assert async_url(given) == used


def test_heroku_style_postgres_urls_are_accepted() -> None:
    settings = Settings(database_url="postgres://otp@db/otpgate", _env_file=None)  # type: ignore[call-arg]
    assert async_url(settings.database_url) == "postgresql+asyncpg://otp@db/otpgate"


def test_other_databases_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        async_url("mysql://root@db/otpgate")
