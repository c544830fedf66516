"""Seal what is not sealed under the current data key: rows of older releases, and rows
sealed under ``OTPGATE_DATA_KEY_PREVIOUS`` after a rotation.

``otpgate migrate-db``, ``init`` and ``serve`` run it after the migrations. It reads
only the rows whose value does not start with the current key's prefix, in batches of
one short transaction each, and writes a row back only if it still holds what was read
(a request that changed it meanwhile wrote it sealed already). Outbox messages also get
the ``destination_key`` their listing is found by (migration 0007). When it is done,
no value needs the previous data key: the operator may remove it.
"""

# ruff: noqa: S608 - statements are built from this module's own constant names
from __future__ import annotations

from dataclasses import dataclass

from otpgate.adapters.sql.database import Database, Row
from otpgate.adapters.sql.sealed import Sealer

BATCH = 500


@dataclass(frozen=True, slots=True)
class Column:
    table: str
    keys: tuple[str, ...]
    name: str
    json: bool = False


COLUMNS = (
    Column("verification_sessions", ("id",), "destination"),
    Column("outbox", ("id",), "destination"),
    Column("outbox", ("id",), "subject"),
    Column("outbox", ("id",), "body"),
    Column("sponsor_beneficiaries", ("sponsor_id", "beneficiary_id"), "phone"),
    Column("sponsor_beneficiaries", ("sponsor_id", "beneficiary_id"), "email"),
    Column("gateway_transactions", ("id",), "reference"),
    Column("evaluations", ("id",), "individual", json=True),
    Column("evaluations", ("id",), "notes"),
    Column("idempotency_records", ("tenant_id", "scope", "request_id"), "body", json=True),
)


async def reseal(db: Database, sealer: Sealer) -> dict[str, int]:
    """Seal every stored value under the current key; the number of values per column."""
    done = {f"{c.table}.{c.name}": await _column(db, sealer, c) for c in COLUMNS}
    done["outbox.destination_key"] = await _outbox_keys(db, sealer)
    return done


async def _column(db: Database, sealer: Sealer, column: Column) -> int:
    text = f"CAST({column.name} AS TEXT)"
    keys = ", ".join(column.keys)
    match = " AND ".join(f"{k} = :{k}" for k in column.keys)
    select = (
        f"SELECT {keys}, {text} AS raw FROM {column.table}"
        f" WHERE {column.name} IS NOT NULL AND {text} NOT LIKE :sealed LIMIT {BATCH}"
    )
    update = f"UPDATE {column.table} SET {column.name} = :new WHERE {match} AND {text} = :raw"
    # A JSON column holds the sealed text as a JSON string: it starts with a quote.
    pattern = ('"' if column.json else "") + sealer.current_prefix + "%"
    total = 0
    while True:
        tx = await db.begin(True)
        try:
            rows = await tx.fetch(select, {"sealed": pattern})
            changed = 0
            for row in rows:
                params = {k: row[k] for k in column.keys} | {"raw": row["raw"]}
                changed += await tx.execute(update, params | {"new": _sealed(sealer, column, row)})
            await db.commit(tx)
        except BaseException:
            await db.rollback(tx)
            raise
        total += changed
        if len(rows) < BATCH or changed == 0:
            return total


def _sealed(sealer: Sealer, column: Column, row: Row) -> str:
    raw: str = row["raw"]
    if column.json:
        return sealer.seal_json(sealer.open_json(raw))
    return sealer.seal(sealer.open(raw))


async def _outbox_keys(db: Database, sealer: Sealer) -> int:
    select = f"SELECT id, destination FROM outbox WHERE destination_key IS NULL LIMIT {BATCH}"
    update = "UPDATE outbox SET destination_key = :key WHERE id = :id"
    total = 0
    while True:
        tx = await db.begin(True)
        try:
            rows = await tx.fetch(select, {})
            for row in rows:
                key = sealer.lookup(sealer.open(row["destination"]))
                total += await tx.execute(update, {"id": row["id"], "key": key})
            await db.commit(tx)
        except BaseException:
            await db.rollback(tx)
            raise
        if len(rows) < BATCH:
            return total
