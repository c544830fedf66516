"""Turning a database back into what an older release stored: every sealed value in plain
text, and no outbox ``destination_key`` (``adapters/sql/reseal.py`` undone)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from otpgate import secretfile
from otpgate.adapters.sql.reseal import COLUMNS
from otpgate.adapters.sql.sealed import Sealer
from otpgate.settings import Settings


def sealer_of(settings: Settings) -> Sealer:
    found = secretfile.load(settings)
    return Sealer(found.data, lookup_key=found.lookup)


def unseal_sqlite(path: Path | str, sealer: Sealer) -> int:
    """Write every sealed value of the SQLite file at ``path`` back in plain text."""
    db = sqlite3.connect(path)
    changed = 0
    with db:
        for c in COLUMNS:
            keys = ", ".join(c.keys)
            where = " AND ".join(f"{k} = ?" for k in c.keys)
            rows = db.execute(
                f"SELECT {keys}, {c.name} FROM {c.table} WHERE {c.name} IS NOT NULL"  # noqa: S608
            ).fetchall()
            for *key, value in rows:
                plain = json.dumps(sealer.open_json(value)) if c.json else sealer.open(value)
                if plain != value:
                    db.execute(
                        f"UPDATE {c.table} SET {c.name} = ? WHERE {where}",  # noqa: S608
                        (plain, *key),
                    )
                    changed += 1
        db.execute("UPDATE outbox SET destination_key = NULL")
    db.close()
    return changed
