"""The abuse guard's operator side in SQL: list entries, pauses, lockouts to lift.

Only ``otpgate guard …`` runs these; none is on a request's path. Locked destinations
are shown masked from their newest session (``verification_sessions`` holds the sealed
destination under the same destination key); a scan, which an operator's command can
afford.
"""

# ruff: noqa: S608 - statements are built from placeholders this module numbers itself
from __future__ import annotations

from collections.abc import Sequence

from otpgate.adapters.sql.database import Transaction
from otpgate.adapters.sql.sealed import Sealer
from otpgate.core.guard_types import (
    GuardScope,
    ListedEntry,
    ListEntry,
    ListVerdict,
    LockedDestination,
    Pause,
)
from otpgate.core.model import Destination, DestinationKind

_PUT = (
    'INSERT INTO guard_lists (tenant_id, "value", scope, verdict, label, created_at)'
    " VALUES (:tenant_id, :value, :scope, :verdict, :label, :now)"
    ' ON CONFLICT (tenant_id, "value", scope) DO UPDATE SET verdict = excluded.verdict,'
    " label = excluded.label, created_at = excluded.created_at"
)
_REMOVE = (
    'DELETE FROM guard_lists WHERE tenant_id = :tenant_id AND "value" = :value AND scope = :scope'
)
_ENTRIES = (
    'SELECT scope, "value", verdict, label, created_at FROM guard_lists'
    ' WHERE tenant_id = :tenant_id ORDER BY scope, "value"'
)
_PAUSES = (
    'SELECT environment, scope, "value", "until", created_at FROM guard_pauses'
    ' WHERE tenant_id = :tenant_id AND "until" > :now ORDER BY environment, scope, "value"'
)
_LIFT = (
    "DELETE FROM guard_pauses WHERE tenant_id = :tenant_id AND environment = :environment"
    ' AND "value" = :value AND scope = :scope AND "until" > :now'
)
_LOCKED = (
    'SELECT "key", "until" FROM lockouts WHERE substr("key", 1, :length) = :prefix'
    ' AND "until" > :now ORDER BY "until"'
)


def _numbered(prefix: str, values: Sequence[str]) -> dict[str, object]:
    return {f"{prefix}{i}": v for i, v in enumerate(values)}


def _placeholders(params: dict[str, object]) -> str:
    return ", ".join(f":{name}" for name in params)


class SqlGuardAdmin:
    __slots__ = ("sealer", "tx")

    def __init__(self, tx: Transaction, sealer: Sealer) -> None:
        self.tx = tx
        self.sealer = sealer

    async def put(
        self, tenant_id: str, entry: ListEntry, verdict: ListVerdict, label: str, now: float
    ) -> None:
        await self.tx.execute(
            _PUT,
            {
                "tenant_id": tenant_id,
                "value": entry.value,
                "scope": str(entry.scope),
                "verdict": str(verdict),
                "label": label,
                "now": float(now),
            },
        )

    async def remove(self, tenant_id: str, entry: ListEntry) -> bool:
        params = {"tenant_id": tenant_id, "value": entry.value, "scope": str(entry.scope)}
        return bool(await self.tx.execute(_REMOVE, params))

    async def entries(self, tenant_id: str) -> list[ListedEntry]:
        rows = await self.tx.fetch(_ENTRIES, {"tenant_id": tenant_id})
        return [
            ListedEntry(ListEntry(GuardScope(r[0]), r[1]), ListVerdict(r[2]), r[3], float(r[4]))
            for r in rows
        ]

    async def pauses(self, tenant_id: str, now: float) -> list[Pause]:
        rows = await self.tx.fetch(_PAUSES, {"tenant_id": tenant_id, "now": float(now)})
        return [Pause(r[0], GuardScope(r[1]), r[2], float(r[3]), float(r[4])) for r in rows]

    async def lift(self, tenant_id: str, environment: str, entry: ListEntry, now: float) -> bool:
        params = {
            "tenant_id": tenant_id,
            "environment": environment,
            "value": entry.value,
            "scope": str(entry.scope),
            "now": float(now),
        }
        return bool(await self.tx.execute(_LIFT, params))

    async def locked(self, tenant_id: str, now: float) -> list[LockedDestination]:
        prefix = f"lock:{tenant_id}:"
        params = {"prefix": prefix, "length": len(prefix), "now": float(now)}
        rows = await self.tx.fetch(_LOCKED, params)
        keys = [str(r[0]).removeprefix("lock:") for r in rows]
        labels = await self._labels(keys)
        return [
            LockedDestination(
                key, labels.get(key) or LockedDestination.unknown_label(key), float(r[1])
            )
            for key, r in zip(keys, rows, strict=True)
        ]

    async def _labels(self, destination_keys: Sequence[str]) -> dict[str, str]:
        """Each destination key's newest session's destination, masked."""
        if not destination_keys:
            return {}
        params = _numbered("k", destination_keys)
        rows = await self.tx.fetch(
            "SELECT destination_key, destination_kind, destination, destination_calling_code"
            f" FROM verification_sessions WHERE destination_key IN ({_placeholders(params)})"
            " ORDER BY created_at",
            params,
        )
        labels = {}
        for r in rows:
            shown = Destination(
                DestinationKind(r[1]), self.sealer.open(r[2]), calling_code=r[3]
            ).masked()
            labels[str(r[0])] = shown
        return labels

    async def forget(self, lockouts: Sequence[str], counters: Sequence[str]) -> None:
        if lockouts:
            params = _numbered("l", lockouts)
            sql = f'DELETE FROM lockouts WHERE "key" IN ({_placeholders(params)})'
            await self.tx.execute(sql, params)
        if counters:
            params = _numbered("c", counters)
            sql = f'DELETE FROM rate_counters WHERE "key" IN ({_placeholders(params)})'
            await self.tx.execute(sql, params)
