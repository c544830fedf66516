"""The demo tenant's sandbox key: created on first use, kept in memory, revoked at shutdown.

The key never leaves the server: the page calls ``/demo/api/…`` and the demo backend adds
the ``Authorization`` header before handing the request to the real evaluation API.
The demo's routes need no key, so its writes are counted per client address
(:attr:`DemoAccount.writes`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from otpgate.core.model import Environment
from otpgate.core.throttle import Throttle
from otpgate.services import Services

DEMO_TENANT = "otpgate-demo"


@dataclass(frozen=True, slots=True)
class DemoKey:
    key: str
    key_id: str
    tenant_id: str


class DemoAccount:
    """One per ``Services`` (so per process): a sandbox key of the demo tenant."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.writes = Throttle(services.limiter, services.uow, services.clock)
        self._key: DemoKey | None = None
        self._lock = asyncio.Lock()

    async def key(self) -> DemoKey:
        if self._key is not None:
            return self._key
        async with self._lock:
            if self._key is None:
                issued = await self.services.accounts.create_key(DEMO_TENANT, Environment.SANDBOX)
                self._key = DemoKey(issued.key, issued.key_id, issued.tenant.id)
                self.services.closers.append(self._revoke)
            return self._key

    async def _revoke(self) -> None:
        if self._key is not None:
            await self.services.accounts.revoke_key(self._key.key_id)
            self._key = None


def demo_account(services: Services) -> DemoAccount:
    account = services.demo
    if account is None:
        account = services.demo = DemoAccount(services)
    assert isinstance(account, DemoAccount)
    return account
