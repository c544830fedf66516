"""Tenants, hashed API keys and the install's persisted secrets."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from otpgate.adapters.sql.tables import api_keys, app_secrets, audit_events, tenants
from otpgate.adapters.sql.upsert import insert_for
from otpgate.core.cache import ExpiringCache
from otpgate.core.model import Environment, IssuedKey, Principal, Tenant
from otpgate.core.opaque import digest, random_token

KEY_PREFIXES = {Environment.SANDBOX: "og_sandbox_", Environment.PRODUCTION: "og_live_"}


def generate_key(environment: Environment) -> str:
    """40 base62 characters (238 random bits) after the environment's prefix."""
    return random_token(40, prefix=KEY_PREFIXES[environment])


def environment_of(key: str) -> Environment | None:
    for env, prefix in KEY_PREFIXES.items():
        if key.startswith(prefix) and len(key) >= len(prefix) + 32 and key[len(prefix) :].isalnum():
            return env
    return None


def _key_event(
    tenant_id: str, key_id: str, action: str, environment: Environment, now: float
) -> Any:
    """The audit row of a key's creation or revocation, written in the same transaction."""
    return insert(audit_events).values(
        tenant_id=tenant_id,
        subject_type="api_key",
        subject_id=key_id,
        action=action,
        detail={"environment": str(environment)},
        created_at=now,
    )


class AccountStore:
    """Tenants and keys, with a short in-process cache of key lookups."""

    def __init__(self, engine: AsyncEngine, cache_seconds: float = 30.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._cache: ExpiringCache[str, Principal | None] = ExpiringCache(cache_seconds)
        # Lookups under way, by cache key: concurrent misses of one key (a burst after a
        # start, or after the entry expired) wait for one query instead of each running
        # its own on a pool connection of its own.
        self._inflight: dict[str, asyncio.Future[Principal | None]] = {}
        self._generation = 0  # bumped when a change empties the cache

    async def ensure_tenant(self, name: str) -> Tenant:
        stmt = insert_for(self.engine, tenants).values(
            id=str(uuid.uuid4()), name=name, created_at=time.time()
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
        tenant = await self.tenant_by_name(name)
        assert tenant is not None
        return tenant

    async def update_tenant(
        self, name: str, *, brand: str | None = None, default_locale: str | None = None
    ) -> Tenant:
        """Set a tenant's brand and default message locale (``""`` clears one).

        Running servers see the change once their key and tenant caches expire (a minute).
        """
        tenant = await self.ensure_tenant(name)
        values: dict[str, str | None] = {}
        if brand is not None:
            values["brand"] = brand or None
        if default_locale is not None:
            values["default_locale"] = default_locale or None
        if values:
            async with self.engine.begin() as conn:
                await conn.execute(update(tenants).where(tenants.c.id == tenant.id).values(values))
                await conn.execute(
                    insert(audit_events).values(
                        tenant_id=tenant.id,
                        subject_type="tenant",
                        subject_id=tenant.id,
                        action="updated",
                        detail={"fields": sorted(values)},
                        created_at=time.time(),
                    )
                )
            self._forget()
        updated = await self.tenant_by_name(name)
        assert updated is not None
        return updated

    async def list_tenants(self) -> list[Tenant]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(tenants).order_by(tenants.c.name))).all()
        return [Tenant(r.id, r.name, r.brand, r.default_locale) for r in rows]

    async def tenant_by_name(self, name: str) -> Tenant | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(tenants).where(tenants.c.name == name))).first()
        return Tenant(row.id, row.name, row.brand, row.default_locale) if row else None

    async def tenant_by_id(self, tenant_id: str) -> Tenant | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(tenants).where(tenants.c.id == tenant_id))).first()
        return Tenant(row.id, row.name, row.brand, row.default_locale) if row else None

    async def create_key(self, tenant_name: str, environment: Environment) -> IssuedKey:
        tenant = await self.ensure_tenant(tenant_name)
        key = generate_key(environment)
        key_id = str(uuid.uuid4())
        now = time.time()
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    tenant_id=tenant.id,
                    environment=str(environment),
                    key_hash=digest(key),
                    prefix=key[: len(KEY_PREFIXES[environment]) + 4],
                    created_at=now,
                )
            )
            await conn.execute(_key_event(tenant.id, key_id, "created", environment, now))
        return IssuedKey(key=key, key_id=key_id, tenant=tenant, environment=environment)

    async def revoke_key(self, key_id: str) -> None:
        now = time.time()
        async with self.engine.begin() as conn:
            revoked = (
                await conn.execute(
                    update(api_keys)
                    .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                    .returning(api_keys.c.tenant_id, api_keys.c.environment)
                )
            ).first()
            if revoked is not None:
                await conn.execute(
                    _key_event(
                        revoked.tenant_id, key_id, "revoked", Environment(revoked.environment), now
                    )
                )
        self._forget()

    async def count_keys(
        self, environment: Environment | None = None, tenant_name: str | None = None
    ) -> int:
        stmt = select(api_keys.c.id).where(api_keys.c.revoked_at.is_(None))
        if environment is not None:
            stmt = stmt.where(api_keys.c.environment == str(environment))
        if tenant_name is not None:
            stmt = stmt.join(tenants, tenants.c.id == api_keys.c.tenant_id).where(
                tenants.c.name == tenant_name
            )
        async with self.engine.connect() as conn:
            return len((await conn.execute(stmt)).all())

    async def authenticate(self, key: str, now: float | None = None) -> Principal | None:
        if environment_of(key) is None:
            return None
        key_hash = digest(key)  # 238 random bits: a plain SHA-256 is the right hash
        # The condition is built only on a cache miss: building it costs more than the hit.
        return await self._lookup(key_hash, lambda: api_keys.c.key_hash == key_hash, now)

    async def principal_for_key_id(self, key_id: str) -> Principal | None:
        """The tenant behind an unrevoked key, by the key's id (the OAuth client id)."""
        return await self._lookup(f"id:{key_id}", lambda: api_keys.c.id == key_id, None)

    def _forget(self) -> None:
        """A key or tenant changed: lookups from now on read the database again, and one
        already under way does not store what it read before the change."""
        self._cache.clear()
        self._inflight.clear()
        self._generation += 1

    async def _lookup(
        self, cache_key: str, where: Callable[[], Any], now: float | None
    ) -> Principal | None:
        """One live key matching ``where()``, cached ``cache_seconds`` (hits and misses)."""
        now = time.monotonic() if now is None else now
        cached = self._cache.get(cache_key, now)
        if cached is not None:
            return cached.value
        running = self._inflight.get(cache_key)
        if running is None:
            running = asyncio.ensure_future(self._read(cache_key, where, now))
            running.add_done_callback(_retrieve)  # even if every waiter gave up
            self._inflight[cache_key] = running
        # Shielded: a caller that gives up does not cancel the query the others wait for.
        return await asyncio.shield(running)

    async def _read(self, cache_key: str, where: Callable[[], Any], now: float) -> Principal | None:
        generation = self._generation
        try:
            principal = await self._query(where)
        finally:
            if self._generation == generation:
                self._inflight.pop(cache_key, None)
        if self._generation == generation:
            self._cache.put(cache_key, principal, now)
        return principal

    async def _query(self, where: Callable[[], Any]) -> Principal | None:
        stmt = (
            select(api_keys, tenants.c.name, tenants.c.brand, tenants.c.default_locale)
            .join(tenants, tenants.c.id == api_keys.c.tenant_id)
            .where(where(), api_keys.c.revoked_at.is_(None))
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return Principal(
            tenant=Tenant(row.tenant_id, row.name, row.brand, row.default_locale),
            environment=Environment(row.environment),
            key_id=row.id,
        )


def _retrieve(done: asyncio.Future[Principal | None]) -> None:
    if not done.cancelled():
        done.exception()


class LegacySecrets:
    """Secrets older releases generated and kept in ``app_secrets``: read once, moved to
    the secrets file (``secretfile.provision``), then deleted. Nothing writes here now."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def read(self) -> dict[str, str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(app_secrets.c.name, app_secrets.c.value))
            return {row.name: row.value for row in rows}

    async def delete(self, names: list[str]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(app_secrets).where(app_secrets.c.name.in_(names)))
