"""The courier: picks providers by environment and channel, retries, fails over, reports.

Sandbox messages always go to the outbox. Production messages go through the channel's
ordered provider list. Each provider gets up to ``RetryPolicy.attempts`` tries while its
failures are retryable (timeout, refused or dropped connection, 5xx), waiting
``backoff_seconds`` · 2ⁿ between tries and never starting one that would end past
``budget_seconds``; a 4xx is not retried. Then the next provider takes over. The result
names the provider that carried the message (or the last one tried), and ``attempts``
counts every try across providers. Nothing a provider does escapes as an exception.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from otpgate.adapters.delivery.base import Provider, ProviderError, Rendered
from otpgate.adapters.delivery.outbox import entry_for
from otpgate.adapters.delivery.templates import Renderer
from otpgate.core.cache import ExpiringCache
from otpgate.core.model import Channel, DeliveryResult, Environment, OutgoingMessage
from otpgate.core.uow import OutboxEntry, TenantRepository

log = structlog.get_logger("otpgate.delivery")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff_seconds: float = 0.5
    budget_seconds: float = 15.0
    timeout_seconds: float = 20.0
    """A hard stop for one try, over the provider's own network timeouts."""

    def delay(self, tries: int) -> float:
        return float(self.backoff_seconds * 2.0 ** (tries - 1))


class Account(Protocol):
    """What the courier wants to know about a tenant: its name, brand and default locale."""

    @property
    def name(self) -> str: ...
    @property
    def brand(self) -> str | None: ...
    @property
    def default_locale(self) -> str | None: ...


AccountLookup = Callable[[str], Awaitable[Account | None]]
ACCOUNT_CACHE_SECONDS = 60.0
OUTBOX = "outbox"


@dataclass(frozen=True, slots=True)
class _Outcome:
    result: DeliveryResult
    tries: int = 1
    retryable: bool = False


class Courier:
    def __init__(
        self,
        *,
        sandbox: Provider,
        production: Mapping[Channel, Sequence[Provider]],
        renderer: Renderer,
        retry: RetryPolicy | None = None,
        accounts: AccountLookup | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sandbox = sandbox
        self.production = production
        self.renderer = renderer
        self.retry = retry or RetryPolicy()
        self.accounts = accounts
        self.sleep = sleep
        self._account_cache: ExpiringCache[str, Account | None] = ExpiringCache(
            ACCOUNT_CACHE_SECONDS
        )

    def providers_for(self, message: OutgoingMessage) -> Sequence[Provider]:
        if message.environment is Environment.SANDBOX:
            return [self.sandbox]
        return self.production.get(message.channel, ())

    async def outbox_entry(
        self, message: OutgoingMessage, tenants: TenantRepository
    ) -> OutboxEntry | None:
        """The message as the outbox keeps it, when the outbox carries it (every sandbox
        message, and production ones whose first provider is the outbox): the caller adds
        it in its own unit of work, so no second transaction is needed."""
        providers = self.providers_for(message)
        if not providers or providers[0].name != OUTBOX:
            return None
        known, account = self._cached_account(message)
        if not known:  # read in the caller's own transaction: no second connection
            account = await tenants.get(message.tenant_id)
            self._remember(message.tenant_id, account)
        try:
            rendered = self._render(message, account)
        except Exception:  # deliver() reports the failure
            return None
        return entry_for(message, rendered)

    async def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        providers = self.providers_for(message)
        if not providers:
            return DeliveryResult(
                ok=False,
                provider="none",
                status_code=503,
                error=f"no provider configured for {message.channel}",
            )
        try:
            rendered = await self.render(message)
        except Exception as exc:  # a bug in a template must not become a 500
            log.error("delivery.render_failed", error=type(exc).__name__)
            return DeliveryResult(
                ok=False, provider="none", status_code=500, error="the message could not be built"
            )
        tries = 0
        errors: list[str] = []
        last: DeliveryResult | None = None
        for provider in providers:
            outcome = await self._try(provider, message, rendered)
            tries += outcome.tries
            if outcome.result.ok:
                return dataclasses.replace(outcome.result, attempts=tries)
            errors.append(outcome.result.error or f"{provider.name}: failed")
            last = outcome.result
        assert last is not None
        return dataclasses.replace(last, attempts=tries, error="; ".join(errors))

    def _needs_account(self, message: OutgoingMessage) -> bool:
        return message.message_template is None and (
            self.renderer.has_tenant_templates
            or message.brand is None
            or message.default_locale is None
        )

    def _cached_account(self, message: OutgoingMessage) -> tuple[bool, Account | None]:
        """``(True, account)`` when rendering needs no lookup (none needed, or cached)."""
        if not self._needs_account(message) or self.accounts is None:
            return True, None
        cached = self._account_cache.get(message.tenant_id, time.monotonic())
        if cached is not None:
            return True, cached.value
        return False, None

    async def render(self, message: OutgoingMessage) -> Rendered:
        account = await self._account(message.tenant_id) if self._needs_account(message) else None
        return self._render(message, account)

    def _render(self, message: OutgoingMessage, account: Account | None) -> Rendered:
        return self.renderer.render(
            message,
            tenant=account.name if account else None,
            brand=account.brand if account else None,
            default_locale=account.default_locale if account else None,
        )

    async def aclose(self) -> None:
        seen: set[int] = set()
        for provider in [self.sandbox, *(p for ps in self.production.values() for p in ps)]:
            closer = getattr(provider, "aclose", None)
            if closer is not None and id(provider) not in seen:
                seen.add(id(provider))
                await closer()

    async def _account(self, tenant_id: str) -> Account | None:
        if self.accounts is None:
            return None
        cached = self._account_cache.get(tenant_id, time.monotonic())
        if cached is not None:
            return cached.value
        account = await self.accounts(tenant_id)
        self._remember(tenant_id, account)
        return account

    def _remember(self, tenant_id: str, account: Account | None) -> None:
        self._account_cache.put(tenant_id, account, time.monotonic())

    async def _try(
        self, provider: Provider, message: OutgoingMessage, rendered: Rendered
    ) -> _Outcome:
        policy = self.retry
        started = time.monotonic()
        tries = 0
        while True:
            tries += 1
            once = await self._once(provider, message, rendered)
            result, retryable = once.result, once.retryable
            if result.ok:
                return _Outcome(result, tries)
            delay = policy.delay(tries)
            elapsed = time.monotonic() - started
            again = (
                retryable and tries < policy.attempts and elapsed + delay <= policy.budget_seconds
            )
            log.warning(
                "delivery.attempt_failed",
                provider=provider.name,
                channel=str(message.channel),
                attempt=tries,
                status_code=result.status_code,
                error=result.error,
                retry_in=round(delay, 3) if again else None,
            )
            if not again:
                return _Outcome(result, tries)
            await self.sleep(delay)

    async def _once(
        self, provider: Provider, message: OutgoingMessage, rendered: Rendered
    ) -> _Outcome:
        def failed(status: int, error: str, retryable: bool) -> _Outcome:
            result = DeliveryResult(
                ok=False, provider=provider.name, status_code=status, error=error
            )
            return _Outcome(result, retryable=retryable)

        try:
            async with asyncio.timeout(self.retry.timeout_seconds):
                result = await provider.send(message, rendered)
        except ProviderError as exc:
            return failed(exc.status_code, str(exc), exc.retryable)
        except TimeoutError:
            limit = f"{self.retry.timeout_seconds:g}s"
            return failed(504, f"{provider.name}: no answer within {limit}", True)
        except Exception as exc:  # a provider bug must not take the request down
            log.error("delivery.provider_crashed", provider=provider.name, error=type(exc).__name__)
            return failed(502, f"{provider.name}: unexpected {type(exc).__name__}", False)
        return _Outcome(result, retryable=not result.ok and result.status_code >= 500)
