"""What the web layer may reach: the core, the flows and their ports, nothing concrete.

``wiring.build_services`` fills it with adapters (``WiredServices`` adds the concrete
database handles that operations and tests use); the web packages see only these types,
so no route can reach past a port into SQL, Redis or a provider.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from otpgate.core.clock import Clock
from otpgate.core.model import Environment, IssuedKey, Principal
from otpgate.core.ports import Limiter
from otpgate.core.service import OtpService
from otpgate.core.uow import OutboxMessage, UnitOfWork
from otpgate.flows.evaluation.service import EvaluationService
from otpgate.flows.phonematch.service import GatewayService
from otpgate.flows.sponsor.ports import AccessTokenIssuer, ClientCredentials
from otpgate.flows.sponsor.service import SponsorService
from otpgate.observability import Metrics
from otpgate.settings import Settings

Closer = Callable[[], Awaitable[None]]
ReadyCheck = Callable[[], Awaitable[bool]]


class ApiKeys(Protocol):
    """Tenants' API keys: only their hashes are stored."""

    async def authenticate(self, key: str, now: float | None = None) -> Principal | None: ...

    async def create_key(self, tenant_name: str, environment: Environment) -> IssuedKey: ...

    async def revoke_key(self, key_id: str) -> None: ...


class OutboxReader(Protocol):
    async def __call__(
        self,
        tenant_id: str | None,
        environment: str | None,
        destination: str | None = None,
        limit: int = 50,
    ) -> list[OutboxMessage]:
        """Outbox messages, newest first (``/v1/outbox``: one tenant and environment)."""
        ...


class UnitsOfWork(Protocol):
    def __call__(self) -> UnitOfWork:
        """A unit of work that writes; ``async with`` opens it."""
        ...


@dataclass(frozen=True)
class SponsorOAuth:
    """The sponsor API's client-credentials grant: who may ask, and what they get."""

    clients: ClientCredentials
    tokens: AccessTokenIssuer


@dataclass(kw_only=True)
class Services:
    settings: Settings
    uow: UnitsOfWork
    clock: Clock
    metrics: Metrics
    accounts: ApiKeys
    limiter: Limiter
    otp: OtpService
    evaluations: EvaluationService
    gateway: GatewayService
    sponsors: SponsorService
    oauth: SponsorOAuth
    outbox: OutboxReader
    database_backend: str
    """``sqlite`` or ``postgresql``, as ``/readyz`` reports it."""
    database_ready: ReadyCheck
    ready_checks: dict[str, ReadyCheck] = field(default_factory=dict)
    """Optional parts (Redis): reported by ``/readyz`` without making the process unready."""
    closers: list[Closer] = field(default_factory=list)
    demo: object | None = None
    """The demo page's account, made on its first use (``web/demo/backend.py``)."""

    async def close(self) -> None:
        for closer in self.closers:
            await closer()
