"""The abuse guard's lists and pauses in SQL, as every send reads and writes them.

:meth:`SqlGuard.screen` is one statement: the tenant's list entries for the
destination's values (a primary-key range each: ``tenant_id`` and ``value IN …``) and
the pauses in force on its prefix and country, joined by ``UNION ALL``.
:meth:`SqlGuard.pause` starts a pause with ``INSERT … ON CONFLICT DO NOTHING``, and
revives an expired one with a conditional ``UPDATE``: on PostgreSQL a concurrent insert
of the same row waits for the first to end, and a concurrent update re-reads the row,
so of many sends that pause one range at once exactly one is told it started it.
"""

# ruff: noqa: S608 - statements are built from placeholders this module numbers itself
from __future__ import annotations

from collections.abc import Sequence

from otpgate.adapters.sql.database import Transaction
from otpgate.core.guard_types import GuardScope, ListEntry, ListVerdict, Pause, Screening

_PAUSE_NEW = (
    'INSERT INTO guard_pauses (tenant_id, environment, "value", scope, "until", created_at)'
    " VALUES (:tenant_id, :environment, :value, :scope, :until, :now)"
    ' ON CONFLICT (tenant_id, environment, "value", scope) DO NOTHING'
)
_PAUSE_AGAIN = (
    'UPDATE guard_pauses SET "until" = :until, created_at = :now'
    ' WHERE tenant_id = :tenant_id AND environment = :environment AND "value" = :value'
    ' AND scope = :scope AND "until" <= :now'
)


def _names(prefix: str, n: int) -> str:
    return ", ".join(f":{prefix}{i}" for i in range(n))


def _screen_sql(entries: int, ranges: int) -> str:
    lists = (
        'SELECT \'list\' AS kind, scope, "value", verdict, 0.0 AS "until", 0.0 AS created_at'
        f' FROM guard_lists WHERE tenant_id = :tenant_id AND "value" IN ({_names("v", entries)})'
    )
    if not ranges:
        return lists
    return (
        f"{lists} UNION ALL"
        " SELECT 'pause', scope, \"value\", '', \"until\", created_at FROM guard_pauses"
        " WHERE tenant_id = :tenant_id AND environment = :environment"
        f' AND "value" IN ({_names("r", ranges)}) AND "until" > :now'
    )


class SqlGuard:
    __slots__ = ("tx",)

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def screen(
        self,
        tenant_id: str,
        environment: str,
        entries: Sequence[ListEntry],
        ranges: Sequence[ListEntry],
        now: float,
    ) -> Screening:
        params: dict[str, object] = {"tenant_id": tenant_id}
        params |= {f"v{i}": e.value for i, e in enumerate(entries)}
        if ranges:
            params |= {"environment": environment, "now": now}
            params |= {f"r{i}": e.value for i, e in enumerate(ranges)}
        rows = await self.tx.fetch(_screen_sql(len(entries), len(ranges)), params)
        wanted, paused = set(entries), set(ranges)
        verdicts: set[ListVerdict] = set()
        pauses: list[Pause] = []
        for row in rows:
            entry = ListEntry(GuardScope(row[1]), row[2])
            if row[0] == "list" and entry in wanted:
                verdicts.add(ListVerdict(row[3]))
            elif row[0] == "pause" and entry in paused:
                pauses.append(
                    Pause(environment, entry.scope, entry.value, float(row[4]), float(row[5]))
                )
        return Screening(frozenset(verdicts), pauses)

    async def pause(
        self,
        tenant_id: str,
        environment: str,
        scope: GuardScope,
        value: str,
        until: float,
        now: float,
    ) -> bool:
        params = {
            "tenant_id": tenant_id,
            "environment": environment,
            "value": value,
            "scope": str(scope),
            "until": float(until),
            "now": float(now),
        }
        if await self.tx.execute(_PAUSE_NEW, params):
            return True
        return bool(await self.tx.execute(_PAUSE_AGAIN, params))
