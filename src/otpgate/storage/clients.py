"""OAuth clients of the sponsor API: an API key's id is the client id, the key its secret."""

from __future__ import annotations

import hmac
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.core.model import Environment
from otpgate.storage.accounts import AccountStore, Principal, Tenant
from otpgate.storage.tables import api_keys, tenants


class ClientDirectory:
    """Authenticates client credentials; finds the live key behind an access token."""

    def __init__(
        self, engine: AsyncEngine, accounts: AccountStore, cache_seconds: float = 30.0
    ) -> None:
        self.engine = engine
        self.accounts = accounts
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, client_id: str, client_secret: str) -> Principal | None:
        principal = await self.accounts.authenticate(client_secret)
        if principal is None or not hmac.compare_digest(
            principal.key_id.encode(), client_id.encode()
        ):
            return None
        return principal

    async def principal(self, key_id: str) -> Principal | None:
        """The tenant behind an unrevoked key, cached for ``cache_seconds``."""
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        stmt = (
            select(api_keys, tenants.c.name, tenants.c.brand, tenants.c.default_locale)
            .join(tenants, tenants.c.id == api_keys.c.tenant_id)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        principal = None
        if row is not None:
            principal = Principal(
                tenant=Tenant(row.tenant_id, row.name, row.brand, row.default_locale),
                environment=Environment(row.environment),
                key_id=row.id,
            )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key_id] = (now + self.cache_seconds, principal)
        return principal
