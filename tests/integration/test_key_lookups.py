"""Key lookups (``adapters/sql/accounts.py``): concurrent misses of one key share one
query, and a change that empties the cache is not undone by a lookup already under way."""

from __future__ import annotations

import asyncio

from sqlalchemy import event

from otpgate.adapters.sql.accounts import AccountStore
from otpgate.core.model import Environment
from otpgate.testing.app import Harness


def _key_queries(harness: Harness) -> list[str]:
    queries: list[str] = []

    def seen(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        if "FROM api_keys" in sql:
            queries.append(sql)

    event.listen(harness.services.engine.sync_engine, "before_cursor_execute", seen)
    return queries


async def test_concurrent_misses_of_one_key_run_one_query(harness: Harness) -> None:
    accounts = harness.services.accounts
    accounts._forget()
    queries = _key_queries(harness)
    # The first lookup suspends in its query (aiosqlite's thread); the others arrive meanwhile.
    found = await asyncio.gather(
        *(accounts.authenticate(harness.production_key) for _ in range(12))
    )
    assert len(queries) == 1
    assert {p.key_id for p in found if p is not None} == {found[0].key_id}  # type: ignore[union-attr]
    assert None not in found
    await accounts.authenticate(harness.production_key)  # a hit: no query
    assert len(queries) == 1


async def test_a_caller_that_gives_up_does_not_cancel_the_shared_query(harness: Harness) -> None:
    accounts = harness.services.accounts
    accounts._forget()
    first = asyncio.create_task(accounts.authenticate(harness.production_key))
    second = asyncio.create_task(accounts.authenticate(harness.production_key))
    await asyncio.sleep(0)  # both are waiting on the one query
    first.cancel()
    assert (await second) is not None


async def test_a_lookup_under_way_when_a_key_is_revoked_stores_nothing(
    harness: Harness, monkeypatch
) -> None:
    accounts: AccountStore = harness.services.accounts
    issued = await accounts.create_key("revoked-mid-lookup", Environment.PRODUCTION)
    accounts._forget()
    release = asyncio.Event()
    query = AccountStore._query

    async def slow_query(self: AccountStore, where):  # type: ignore[no-untyped-def]
        found = await query(self, where)  # read before the revocation commits
        await release.wait()
        return found

    monkeypatch.setattr(AccountStore, "_query", slow_query)
    before = asyncio.create_task(accounts.authenticate(issued.key))
    await asyncio.sleep(0.05)
    monkeypatch.setattr(AccountStore, "_query", query)
    await accounts.revoke_key(issued.key_id)
    release.set()
    assert (await before) is not None  # it read the key while it was live
    # Without the generation check, that answer would sit in the cache for 30 s.
    assert await accounts.authenticate(issued.key) is None
