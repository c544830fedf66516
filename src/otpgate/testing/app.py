"""Test harness shipped with the package: an app on a real database, driven in-process.

```python
async with running_app(Settings(database_url="sqlite:///tmp/x.db")) as h:
    client = h.client(h.sandbox_key)
    r = await client.post("/api/evaluation", json=...)
    code = await h.last_code("+14155550100")
```
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from otpgate.adapters.sql import migrate
from otpgate.app import create_app
from otpgate.core.clock import Clock
from otpgate.core.model import Environment
from otpgate.settings import Settings
from otpgate.wiring import CourierFactory, WiredServices

CODE_IN_BODY = re.compile(r"(?<!\d)(\d{4,10})(?!\d)")


@dataclass
class Harness:
    app: FastAPI
    services: WiredServices
    sandbox_key: str
    production_key: str

    def client(self, key: str | None = None, **headers: str) -> httpx.AsyncClient:
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://otpgate.test",
            headers=headers,
        )

    async def create_key(self, environment: Environment, tenant: str) -> str:
        return (await self.services.accounts.create_key(tenant, environment)).key

    async def messages(self, destination: str) -> list[str]:
        return [m.body for m in await self.services.outbox(None, None, destination)]

    async def last_code(self, destination: str) -> str:
        """The code in the newest outbox message to ``destination``."""
        bodies = await self.messages(destination)
        if not bodies:
            raise AssertionError(f"no message in the outbox for {destination}")
        found = CODE_IN_BODY.search(bodies[0])
        if found is None:
            raise AssertionError("no code in the newest message")
        return found.group(1)


@asynccontextmanager
async def running_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    courier_factory: CourierFactory | None = None,
) -> AsyncIterator[Harness]:
    if "production_outbox" not in settings.model_fields_set:
        # Reading codes back is what the harness is for: production keys deliver to the
        # outbox too, unless the settings say otherwise (``production_outbox=False`` tests
        # the deployment default, where they do not).
        settings = settings.model_copy(update={"production_outbox": True})
    migrate.upgrade(settings.database_url)
    app = create_app(settings, clock=clock, courier_factory=courier_factory)
    async with app.router.lifespan_context(app):
        services: WiredServices = app.state.services
        sandbox = await services.accounts.create_key("acme", Environment.SANDBOX)
        live = await services.accounts.create_key("acme", Environment.PRODUCTION)
        yield Harness(app=app, services=services, sandbox_key=sandbox.key, production_key=live.key)
