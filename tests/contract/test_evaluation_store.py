"""The evaluation store keeps a reviewer's notes, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

from otpgate.core.model import Environment
from otpgate.flows.evaluation.records import Evaluation


def new_evaluation() -> Evaluation:
    now = time.time()
    return Evaluation(
        id=str(uuid.uuid4()),
        tenant_id="t",
        client_id=f"req-{uuid.uuid4().hex[:8]}",
        workflow="otp_verification",
        environment=Environment.SANDBOX,
        status="CLOSED",
        sub_status="Under Review",
        decision="REVIEW",
        eval_status="evaluation_completed",
        started_at=now,
        ended_at=now,
    )


async def _get(uow: Any, ev: Evaluation) -> Evaluation | None:
    async with uow() as u:
        found: Evaluation | None = await u.evaluations.get(ev.tenant_id, ev.id)
        return found


async def test_notes_are_kept_through_updates(uow: Any) -> None:
    ev = new_evaluation()
    async with uow() as u:
        assert await u.evaluations.create(ev)
        await u.commit()
    stored = await _get(uow, ev)
    assert stored is not None and stored.notes is None

    noted = replace(ev, decision="ACCEPT", notes="ID checked by hand: Ana Pérez, 1984-03-29")
    async with uow() as u:
        assert await u.evaluations.update(noted, ev.version)
        await u.commit()
    stored = await _get(uow, ev)
    assert stored is not None and stored.notes == noted.notes and stored.decision == "ACCEPT"

    # Another write carries them on; empty notes are notes too.
    async with uow() as u:
        assert await u.evaluations.update(replace(stored, status="OPEN"), stored.version)
        await u.commit()
    stored = await _get(uow, ev)
    assert stored is not None and (stored.status, stored.notes) == ("OPEN", noted.notes)
    async with uow() as u:
        assert await u.evaluations.update(replace(stored, notes=""), stored.version)
        await u.commit()
    stored = await _get(uow, ev)
    assert stored is not None and stored.notes == "" and stored.version == 4
