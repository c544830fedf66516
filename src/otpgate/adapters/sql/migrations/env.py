"""Alembic environment: runs migrations over the async engine otpgate uses."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from otpgate.adapters.sql.db import create_engine
from otpgate.adapters.sql.tables import metadata

config = context.config

# Any constant works; it only has to be the same in every otpgate process.
MIGRATION_LOCK_ID = 0x07_90_A7_E0


def _locked(connection: Connection) -> None:
    """On PostgreSQL, replicas starting together migrate one at a time.

    A session-level advisory lock serialises them: the first applies the revisions,
    the others wait, then find the schema at head and do nothing.
    """
    if connection.dialect.name != "postgresql":
        _run(connection)
        return
    connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_ID})")
    connection.commit()
    try:
        _run(connection)
    finally:
        connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_engine(config.attributes["database_url"], pool_size=0)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_locked)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("otpgate migrations run online only")
asyncio.run(_main())
