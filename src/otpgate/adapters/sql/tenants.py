"""Tenants as a unit of work reads them (rendering a message needs name, brand, locale)."""

from __future__ import annotations

from otpgate.adapters.sql.database import Transaction
from otpgate.core.model import Tenant

_GET = "SELECT id, name, brand, default_locale FROM tenants WHERE id = :id"


class SqlTenants:
    __slots__ = ("tx",)

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def get(self, tenant_id: str) -> Tenant | None:
        row = await self.tx.fetchrow(_GET, {"id": tenant_id})
        if row is None:
            return None
        return Tenant(row["id"], row["name"], row["brand"], row["default_locale"])
