"""``otpgate tenants …``: the account-side settings of a tenant's messages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from otpgate.adapters.sql import migrate
from otpgate.adapters.sql.accounts import AccountStore
from otpgate.adapters.sql.db import create_engine
from otpgate.core.model import Tenant
from otpgate.settings import Settings

T = TypeVar("T")
LOCALE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")

tenants_app = typer.Typer(
    help="Manage tenants: the brand and default locale of their messages.", no_args_is_help=True
)


def _describe(tenant: Tenant) -> str:
    brand = tenant.brand or "(default brand)"
    locale = tenant.default_locale or "(none: phone country, then en)"
    return f"{tenant.name}: brand {brand}; default locale {locale}"


def _with_accounts(work: Callable[[AccountStore], Awaitable[T]]) -> T:
    settings = Settings()
    migrate.upgrade(settings.database_url)

    async def main() -> T:
        engine = create_engine(settings.database_url, pool_size=0)
        try:
            return await work(AccountStore(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


@tenants_app.command("set")
def tenants_set(
    name: Annotated[str, typer.Argument(help="Tenant name (created if new).")],
    brand: Annotated[
        str | None, typer.Option(help='Name shown in messages ("" resets to the default).')
    ] = None,
    default_locale: Annotated[
        str | None,
        typer.Option(
            help='Locale when neither the request nor the phone says, e.g. es ("" clears).'
        ),
    ] = None,
) -> None:
    """Set a tenant's brand and default message locale."""
    if default_locale and not LOCALE.match(default_locale):
        raise typer.BadParameter(
            f"{default_locale!r} is not a locale like 'es' or 'pt-BR'",
            param_hint="--default-locale",
        )
    if brand is not None and len(brand) > 120:
        raise typer.BadParameter("at most 120 characters", param_hint="--brand")
    tenant = _with_accounts(
        lambda accounts: accounts.update_tenant(name, brand=brand, default_locale=default_locale)
    )
    typer.echo(_describe(tenant))


@tenants_app.command("list")
def tenants_list() -> None:
    """List tenants with their message settings."""
    for tenant in _with_accounts(lambda accounts: accounts.list_tenants()):
        typer.echo(_describe(tenant))
