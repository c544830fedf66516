"""The ``otpgate`` command: serve, init, keys, outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from otpgate import secretfile, serving
from otpgate.adapters.delivery.base import ConfigurationError
from otpgate.adapters.sql import migrate
from otpgate.adapters.sql.accounts import AccountStore, LegacySecrets
from otpgate.adapters.sql.db import create_engine, is_sqlite
from otpgate.cli.guard import guard_app
from otpgate.cli.sponsors import beneficiaries_app, sponsors_app
from otpgate.cli.tenants import tenants_app
from otpgate.core.model import Environment, IssuedKey
from otpgate.problems import EXIT_BAD_SETTINGS, settings_problems
from otpgate.settings import Settings

app = typer.Typer(
    help="otpgate: self-hosted one-time-passcode verification.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
providers_app = typer.Typer(help="Delivery providers.", no_args_is_help=True)
app.add_typer(providers_app, name="providers")
app.add_typer(sponsors_app, name="sponsors")
app.add_typer(beneficiaries_app, name="beneficiaries")
app.add_typer(tenants_app, name="tenants")
app.add_typer(guard_app, name="guard")

SANDBOX_KEY_FILE = Path("var/sandbox-key.txt")


def _refuse(problems: list[str]) -> typer.Exit:
    """Print one line per problem on stderr; the caller raises the returned ``Exit(2)``."""
    return typer.Exit(_report(problems))


@app.callback()
def _check_settings() -> None:
    """Every command validates the settings first: a bad one ends it with status 2."""
    try:
        Settings()
    except ValidationError as exc:
        raise _refuse(settings_problems(exc, Settings)) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Apply migrations, then serve the HTTP APIs (one line says when they answer)."""
    from otpgate.adapters.delivery.registry import check

    settings = Settings()
    migrate.upgrade(settings.database_url)
    # SQLite (one host) completes the secrets file; PostgreSQL needs it made by `init`.
    found = _provision(settings, create=is_sqlite(settings.database_url))
    _reseal(settings, found)
    report = check(secretfile.with_file_secrets(settings, found))
    if provider_problems := report.all_problems():
        raise _refuse(list(dict.fromkeys(provider_problems)))
    serving.serve(settings, host, port, workers)


def _provision(settings: Settings, *, create: bool) -> secretfile.Secrets:
    """``secretfile.provision`` with an engine of its own (``MissingSecrets`` → status 2)."""

    async def run() -> secretfile.Secrets:
        engine = create_engine(settings.database_url, pool_size=0)
        try:
            return await secretfile.provision(settings, LegacySecrets(engine), create=create)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _reseal(settings: Settings, found: secretfile.Secrets) -> dict[str, int]:
    """Seal what older releases stored in plain text, and what the previous data key
    sealed, under the current data key (``adapters/sql/reseal.py``)."""
    from otpgate.adapters.sql.reseal import reseal
    from otpgate.wiring import build_sealer, open_database

    async def run() -> dict[str, int]:
        database = await open_database(settings)
        try:
            return await reseal(database, build_sealer(found))
        finally:
            await database.close()

    return asyncio.run(run())


@app.command()
def migrate_db() -> None:
    """Apply the database migrations, seal stored data under the current data key, exit."""
    settings = Settings()
    migrate.upgrade(settings.database_url)
    sealed = sum(_reseal(settings, _provision(settings, create=False)).values())
    if sealed:
        typer.echo(f"sealed {sealed} stored values under the current data key")
    typer.echo("database is up to date")


@app.command()
def init(
    host: Annotated[str, typer.Option(help="Host the curl example should use.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the curl example should use.")] = 8000,
) -> None:
    """Migrate, create the secrets file if missing, and a sandbox key if none exists
    (used by ``make run``)."""
    settings = Settings()
    migrate.upgrade(settings.database_url)
    secrets_path = Path(settings.secrets_file)
    had_file = secrets_path.exists()
    _reseal(settings, _provision(settings, create=True))
    if not had_file and secrets_path.exists():
        typer.echo(
            f"Created the secrets file {secrets_path} (mode 0600): back it up apart from the "
            "database, and give every otpgate process the same one."
        )

    async def run() -> str | None:
        engine = create_engine(settings.database_url, pool_size=0)
        try:
            accounts = AccountStore(engine)
            if await accounts.count_keys(Environment.SANDBOX, tenant_name="default"):
                return None
            return (await accounts.create_key("default", Environment.SANDBOX)).key
        finally:
            await engine.dispose()

    key = asyncio.run(run())
    if key is None:
        where = f" (saved in {SANDBOX_KEY_FILE})" if SANDBOX_KEY_FILE.exists() else ""
        typer.echo(
            f"A sandbox key already exists{where}. "
            "Create another with: otpgate keys create --environment sandbox"
        )
        return
    SANDBOX_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    SANDBOX_KEY_FILE.write_text(key + "\n")
    os.chmod(SANDBOX_KEY_FILE, 0o600)
    typer.echo(f"""
Your sandbox API key (also saved in {SANDBOX_KEY_FILE}, shown only now):

    {key}

Try it:

    curl -s -X POST http://{host}:{port}/api/evaluation \\
      -H "Authorization: Bearer {key}" -H "Content-Type: application/json" \\
      -d '{{"id": "first-try", "workflow": "otp_verification",
           "data": {{"individual": {{"phone_number": "+14155550100"}}}}}}'

    curl -s "http://{host}:{port}/v1/outbox?destination=%2B14155550100" \\
      -H "Authorization: Bearer {key}"

Or see the user's side of a verification: open http://{host}:{port}/ (the demo page).
""")


@keys_app.command("create")
def keys_create(
    environment: Annotated[Environment, typer.Option(help="sandbox or production.")],
    tenant: Annotated[str, typer.Option(help="Tenant name (created if new).")] = "default",
) -> None:
    """Create an API key; the key is printed alone on the last line."""
    settings = Settings()
    migrate.upgrade(settings.database_url)

    async def run() -> IssuedKey:
        engine = create_engine(settings.database_url, pool_size=0)
        try:
            return await AccountStore(engine).create_key(tenant, environment)
        finally:
            await engine.dispose()

    issued = asyncio.run(run())
    typer.echo(f"Created a {environment} key for tenant {tenant!r}.")
    typer.echo(f"OAuth client id (sponsor API): {issued.key_id}")
    typer.echo("The key (the client secret) is shown only once:")
    typer.echo(issued.key)


@app.command()
def outbox(
    destination: Annotated[str | None, typer.Option(help="Only messages to this address.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    environment: Annotated[
        Environment | None, typer.Option(help="Only messages sent for keys of this environment.")
    ] = None,
) -> None:
    """List messages held by the outbox provider, newest first (every tenant)."""
    settings = Settings()

    async def run() -> list[str]:
        from otpgate.adapters.sql.uow import SqlUnitOfWorkFactory
        from otpgate.destinations import outbox_destination
        from otpgate.wiring import build_sealer, open_database

        dest = outbox_destination(destination) if destination else None
        sealer = build_sealer(secretfile.load(settings))
        database = await open_database(settings)
        try:
            async with SqlUnitOfWorkFactory(database, sealer).reading() as uow:
                env = str(environment) if environment else None
                messages = await uow.outbox.list(None, env, dest, limit)
        finally:
            await database.close()
        return [
            f"{dt.datetime.fromtimestamp(m.created_at, dt.UTC).isoformat(timespec='seconds')}  "
            f"{m.environment:10}  {m.channel:5}  {m.destination}  {m.body}"
            for m in messages
        ]

    lines = asyncio.run(run())
    if not lines:
        typer.echo("the outbox is empty")
    for line in lines:
        typer.echo(line)


@providers_app.command("check")
def providers_check() -> None:
    """Validate the delivery settings and say what is missing; sends nothing."""
    from otpgate.adapters.delivery.registry import check

    settings = Settings()
    found = secretfile.load_optional(settings)
    report = check(secretfile.with_file_secrets(settings, found) if found else settings)
    for item in report.checks:
        typer.echo(f"{item.channel:5}  {item.provider:8}  {'ok' if item.ok else 'NOT READY'}")
        for problem in item.problems:
            typer.echo(f"         - {problem}")
    for problem in report.problems:
        typer.echo(f"problem: {problem}")
    for note in report.notes:
        typer.echo(f"note: {note}")
    if not report.ok:
        typer.echo(f"{len(report.all_problems())} problem(s): fix the settings above.")
        raise typer.Exit(1)
    typer.echo("delivery configuration is complete")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_duration(raw: str) -> float:
    """``90s``, ``30m``, ``12h``, ``7d`` or plain seconds."""
    text = raw.strip().lower()
    unit = _UNITS.get(text[-1:])
    number = text[:-1] if unit is not None else text
    try:
        value = float(number) * (unit or 1)
    except ValueError:
        raise typer.BadParameter(f"{raw!r} is not a duration like 90s, 30m, 12h or 7d") from None
    if value < 0:
        raise typer.BadParameter("a duration cannot be negative")
    return value


@app.command()
def purge(
    older_than: Annotated[
        str | None,
        typer.Option(
            help="Delete data older than this (e.g. 7d); default OTPGATE_RETENTION_SECONDS."
        ),
    ] = None,
    audit_older_than: Annotated[
        str | None, typer.Option(help="Also delete audit events older than this (kept otherwise).")
    ] = None,
) -> None:
    """Delete expired sessions and the personal data around them (see README)."""
    import time

    from otpgate.adapters.sql.purge import Purger

    settings = Settings()
    age = parse_duration(older_than) if older_than else float(settings.retention_seconds)
    audit_age = parse_duration(audit_older_than) if audit_older_than else None
    migrate.upgrade(settings.database_url)

    async def run() -> dict[str, int]:
        engine = create_engine(settings.database_url, pool_size=0)
        try:
            report = await Purger(engine).purge(time.time(), age, audit_age)
        finally:
            await engine.dispose()
        return report.deleted

    for table, count in asyncio.run(run()).items():
        typer.echo(f"{table}: {count} deleted")


def main() -> None:
    """The console script: bad settings and provider configuration end in status 2."""
    try:
        app()
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        raise SystemExit(_report(settings_problems(exc, Settings))) from None
    except ConfigurationError as exc:
        raise SystemExit(_report(exc.problems)) from None


def _report(problems: list[str]) -> int:
    for problem in problems:
        typer.echo(f"otpgate: {problem}", err=True)
    return EXIT_BAD_SETTINGS


if __name__ == "__main__":
    main()
