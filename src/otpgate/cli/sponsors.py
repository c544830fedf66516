"""``otpgate sponsors …`` and ``otpgate beneficiaries …``: the sponsor API's directory.

Each environment has its own sponsors and beneficiaries (a sandbox key never sees the
production ones); ``--environment`` says which one a command works on. It defaults to
``sandbox``, the harmless side: a command run without it never changes what production
keys use, and a production send to a sponsor set up only in sandbox answers "not found"
instead of going to a destination nobody meant for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from otpgate.adapters.sql import migrate
from otpgate.core.errors import OtpError
from otpgate.core.model import Environment, Scope
from otpgate.destinations import parse_email, parse_phone
from otpgate.flows.sponsor.channels import DEFAULT_CHANNELS, channel_named
from otpgate.settings import Settings
from otpgate.wiring import WiredServices, build_services

T = TypeVar("T")
TenantOption = Annotated[str, typer.Option(help="Tenant name (created if new).")]
EnvironmentOption = Annotated[
    Environment,
    typer.Option(help="Whose sponsors: sandbox keys' or production keys' (each has its own)."),
]

sponsors_app = typer.Typer(help="Manage sponsors (sponsor OTP API).", no_args_is_help=True)
beneficiaries_app = typer.Typer(
    help="Manage a sponsor's beneficiaries (sponsor OTP API).", no_args_is_help=True
)


def _run(work: Callable[[WiredServices], Awaitable[T]]) -> T:
    settings = Settings()
    migrate.upgrade(settings.database_url)

    async def main() -> T:
        services = await build_services(settings)
        try:
            return await work(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except OtpError as exc:
        field = getattr(exc, "field", None)
        typer.echo(f"error: {exc.message}" + (f" ({field})" if field else ""), err=True)
        raise typer.Exit(2) from exc


def _operations(raw: list[str]) -> dict[str, list[str]]:
    rules: dict[str, list[str]] = {}
    for item in raw:
        product_type, sep, operation = item.partition("=")
        if not sep or not product_type or not operation:
            raise typer.BadParameter(f"{item!r}: use PRODUCT_TYPE=OPERATION")
        rules.setdefault(product_type, []).append(operation)
    return rules


@sponsors_app.command("create")
def sponsors_create(
    slug: Annotated[str, typer.Argument(help="e.g. sponsor-sandbox")],
    name: Annotated[str, typer.Option(help="Display name (it signs the messages).")],
    channel: Annotated[
        list[str] | None, typer.Option(help="SMS or EMAIL; repeat for both. Default SMS.")
    ] = None,
    otp_operation: Annotated[
        list[str] | None,
        typer.Option(help="PRODUCT_TYPE=OPERATION that needs an OTP; repeatable."),
    ] = None,
    inactive: Annotated[bool, typer.Option(help="Refuse OTP sends for this sponsor.")] = False,
    tenant: TenantOption = "default",
    environment: EnvironmentOption = Environment.SANDBOX,
) -> None:
    """Create a sponsor, or replace the one with this slug."""
    channels = []
    for raw in channel or DEFAULT_CHANNELS:
        named = channel_named(raw)
        if named is None:
            raise typer.BadParameter(f"{raw!r}: channels are SMS and EMAIL")
        channels.append(named)
    rules = _operations(otp_operation or [])

    async def work(services: WiredServices) -> str:
        owner = await services.accounts.ensure_tenant(tenant)
        sponsor = await services.sponsors.save_sponsor(
            Scope(owner.id, environment), slug, name, channels, rules, not inactive
        )
        return f"sponsor {sponsor.slug} saved for tenant {tenant!r} ({environment})"

    typer.echo(_run(work))


@sponsors_app.command("list")
def sponsors_list(
    tenant: TenantOption = "default", environment: EnvironmentOption = Environment.SANDBOX
) -> None:
    """List the tenant's sponsors of one environment."""

    async def work(services: WiredServices) -> list[str]:
        owner = await services.accounts.ensure_tenant(tenant)
        return [
            f"{s.slug}  {s.name!r}  channels={','.join(c.upper() for c in s.channels)}  "
            f"otp={dict((k, list(v)) for k, v in s.otp_operations.items())}"
            + ("" if s.active else "  (inactive)")
            for s in await services.sponsors.sponsors(Scope(owner.id, environment))
        ]

    lines = _run(work)
    typer.echo("\n".join(lines) if lines else "no sponsors")


@beneficiaries_app.command("add")
def beneficiaries_add(
    sponsor: Annotated[str, typer.Option(help="The sponsor's slug.")],
    beneficiary_id: Annotated[str, typer.Argument(help="e.g. bnf_01HW8GQ2KMNP3F4R5T6Y7U8I9O")],
    phone: Annotated[str | None, typer.Option(help="On-file phone (E.164).")] = None,
    email: Annotated[str | None, typer.Option(help="On-file email.")] = None,
    tenant: TenantOption = "default",
    environment: EnvironmentOption = Environment.SANDBOX,
) -> None:
    """Add a beneficiary to a sponsor, or replace their on-file destinations."""
    if phone is None and email is None:
        raise typer.BadParameter("give --phone and/or --email")

    async def work(services: WiredServices) -> str:
        owner = await services.accounts.ensure_tenant(tenant)
        saved = await services.sponsors.save_beneficiary(
            Scope(owner.id, environment),
            sponsor,
            beneficiary_id,
            parse_phone(phone, "phone") if phone else None,
            parse_email(email, "email") if email else None,
        )
        shown = ", ".join(d.masked() for d in (saved.phone, saved.email) if d is not None)
        return f"beneficiary {saved.beneficiary_id} of {sponsor} saved ({shown})"

    typer.echo(_run(work))


@beneficiaries_app.command("remove")
def beneficiaries_remove(
    sponsor: Annotated[str, typer.Option(help="The sponsor's slug.")],
    beneficiary_id: Annotated[str, typer.Argument()],
    tenant: TenantOption = "default",
    environment: EnvironmentOption = Environment.SANDBOX,
) -> None:
    """Remove a beneficiary from a sponsor."""

    async def work(services: WiredServices) -> str:
        owner = await services.accounts.ensure_tenant(tenant)
        scope = Scope(owner.id, environment)
        await services.sponsors.remove_beneficiary(scope, sponsor, beneficiary_id)
        return f"beneficiary {beneficiary_id} removed from {sponsor}"

    typer.echo(_run(work))
