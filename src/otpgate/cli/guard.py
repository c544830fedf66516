"""``otpgate guard status|allow|block|unblock``: an operator's hand on the abuse guard.

A target is one of ``--country US`` (an ISO region; ``001`` for non-geographic numbers
such as +881), ``--prefix +1201555`` (the leading digits of numbers; a whole number is
``--destination``) or ``--destination`` (a phone number or an email address). Lists
belong to a tenant and cover both environments; pauses are per environment (``unblock``
lifts them in both unless ``--environment`` says which). See ``docs/abuse-guard.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import phonenumbers
import typer

from otpgate.cli.sponsors import _run as run_with_services  # the CLI's one service runner
from otpgate.core.errors import NotFound, OtpError
from otpgate.core.guard_admin import DestinationStatus, GuardAdmin, GuardStatus, Target
from otpgate.core.guard_types import GuardScope, ListedEntry, ListVerdict
from otpgate.core.model import Destination, Environment
from otpgate.destinations import parse_email, parse_phone
from otpgate.wiring import WiredServices

T = TypeVar("T")
PREFIX = re.compile(r"^\+\d{1,14}$")

guard_app = typer.Typer(
    help="The abuse guard: allow and block lists, pauses and lockouts.", no_args_is_help=True
)
TenantOption = Annotated[str, typer.Option(help="Tenant name.")]
CountryOption = Annotated[
    str | None, typer.Option(help="An ISO 3166 region, e.g. US (001: non-geographic).")
]
PrefixOption = Annotated[str | None, typer.Option(help="Leading digits in E.164, e.g. +1201555.")]
DestinationOption = Annotated[str | None, typer.Option(help="A phone number or an email.")]


def _run(tenant: str, work: Callable[[GuardAdmin, str], Awaitable[T]]) -> T:
    """``work(admin, tenant_id)`` on the configured database; errors end in status 2."""

    async def with_tenant(services: WiredServices) -> T:
        found = await services.accounts.tenant_by_name(tenant)
        if found is None:
            raise NotFound(f"no tenant named {tenant!r}")
        return await work(GuardAdmin(services.otp, services.uow), found.id)

    return run_with_services(with_tenant)


def _destination(raw: str) -> Destination:
    return parse_email(raw, "destination") if "@" in raw else parse_phone(raw, "destination")


def _prefix(raw: str) -> str:
    prefix = re.sub(r"[\s\-().]", "", raw)
    if not PREFIX.match(prefix):
        raise typer.BadParameter(f"{raw!r} is not a prefix like +1201555", param_hint="--prefix")
    try:
        whole = phonenumbers.is_valid_number(phonenumbers.parse(prefix))
    except phonenumbers.NumberParseException:
        whole = False
    if whole:
        raise typer.BadParameter(
            f"{raw!r} is a whole number: use --destination", param_hint="--prefix"
        )
    return prefix


def _country(raw: str) -> str:
    country = raw.strip().upper()
    if country != "001" and country not in phonenumbers.SUPPORTED_REGIONS:
        raise typer.BadParameter(f"{raw!r} is not an ISO region like US", param_hint="--country")
    return country


def _target(country: str | None, prefix: str | None, destination: str | None) -> Target:
    given = [v for v in (country, prefix, destination) if v is not None]
    if len(given) != 1:
        raise typer.BadParameter("name exactly one of --country, --prefix or --destination")
    if country is not None:
        return Target(GuardScope.COUNTRY, _country(country))
    if prefix is not None:
        return Target(GuardScope.PREFIX, _prefix(prefix))
    assert destination is not None
    try:
        return Target.of(_destination(destination))
    except OtpError as exc:
        raise typer.BadParameter(exc.message, param_hint="--destination") from exc


def _when(at: float, now: float) -> str:
    stamp = dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds")
    return f"until {stamp.replace('+00:00', 'Z')} ({max(0, int(at - now))} s left)"


def _entry(e: ListedEntry) -> str:
    return f"  {e.verdict:5}  {e.entry.scope:11}  {e.label}"


def _describe(tenant: str, status: GuardStatus, now: float) -> list[str]:
    lines = [f"tenant {tenant!r}", "lists (both environments):"]
    lines += [_entry(e) for e in status.entries] or ["  none"]
    lines.append("pauses:")
    lines += [
        f"  {p.environment:10}  {p.scope:7}  {p.value}  {_when(p.until, now)}"
        for p in status.pauses
    ] or ["  none"]
    lines.append("locked destinations:")
    lines += [f"  {d.label}  {_when(d.until, now)}" for d in status.locked] or ["  none"]
    if status.destination is not None:
        lines += _describe_destination(status.destination, now)
    return lines


def _describe_destination(d: DestinationStatus, now: float) -> list[str]:
    listed = "; ".join(f"{e.verdict} {e.entry.scope} {e.label}" for e in d.entries)
    lines = [
        f"destination {d.label}:",
        f"  listed: {listed or 'no'}",
        f"  wrong codes this hour: {d.failures_this_hour} of {d.failures_per_hour}",
        f"  locked: {_when(d.locked_until, now) if d.locked_until else 'no'}",
    ]
    for r in d.ranges:
        paused = _when(r.paused_until, now) if r.paused_until else "no"
        lines.append(
            f"  {r.environment} {r.scope} {r.value}: {r.sends_this_hour} sends this hour"
            f" (limit {r.sends_per_hour}); {r.conversion.verified} of {r.conversion.sent}"
            f" verified over the last two windows; paused: {paused}"
        )
    return lines


@guard_app.command("status")
def guard_status(
    tenant: TenantOption = "default",
    environment: Annotated[
        Environment | None, typer.Option(help="Only this environment's pauses and counters.")
    ] = None,
    destination: DestinationOption = None,
) -> None:
    """Show the tenant's lists, pauses in force and locked destinations (masked), and
    with --destination what covers it and its counters."""
    target = _target(None, None, destination) if destination is not None else None

    async def work(admin: GuardAdmin, tenant_id: str) -> list[str]:
        found = target.destination if target else None
        status = await admin.status(tenant_id, environment, found)
        return _describe(tenant, status, admin.otp.clock.now())

    typer.echo("\n".join(_run(tenant, work)))


def _put(tenant: str, target: Target, verdict: ListVerdict) -> None:
    async def work(admin: GuardAdmin, tenant_id: str) -> ListedEntry:
        return await admin.put(tenant_id, target, verdict)

    entry = _run(tenant, work)
    done = "allowed" if verdict is ListVerdict.ALLOW else "blocked"
    typer.echo(
        f"{done} {entry.entry.scope} {entry.label} for tenant {tenant!r} (both environments)"
    )


@guard_app.command("allow")
def guard_allow(
    tenant: TenantOption = "default",
    country: CountryOption = None,
    prefix: PrefixOption = None,
    destination: DestinationOption = None,
) -> None:
    """Allow a country, prefix or destination: it wins over blocks, the number type and
    the range signals (not over lockouts, the tenant's budget or the sandbox number)."""
    _put(tenant, _target(country, prefix, destination), ListVerdict.ALLOW)


@guard_app.command("block")
def guard_block(
    tenant: TenantOption = "default",
    country: CountryOption = None,
    prefix: PrefixOption = None,
    destination: DestinationOption = None,
) -> None:
    """Refuse every send to a country, prefix or destination (an allow entry still wins)."""
    _put(tenant, _target(country, prefix, destination), ListVerdict.BLOCK)


@guard_app.command("unblock")
def guard_unblock(
    tenant: TenantOption = "default",
    country: CountryOption = None,
    prefix: PrefixOption = None,
    destination: DestinationOption = None,
    environment: Annotated[
        Environment | None, typer.Option(help="Lift pauses in this environment only.")
    ] = None,
) -> None:
    """Remove the list entry and lift what the guard holds on it: a prefix's or country's
    pause, a destination's lockout."""
    target = _target(country, prefix, destination)

    async def work(admin: GuardAdmin, tenant_id: str) -> list[str]:
        undone = await admin.unblock(tenant_id, target, environment)
        lines = ["removed the list entry"] if undone.entry else []
        lines += [f"lifted the pause in {env}" for env in undone.pauses]
        lines += ["lifted the lockout"] if undone.lockout else []
        return lines

    label = target.destination.masked() if target.destination else target.value
    lines = _run(tenant, work)
    typer.echo("\n".join(lines) if lines else f"nothing held {target.scope} {label}")
