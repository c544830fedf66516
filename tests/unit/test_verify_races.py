"""Interleavings of verify() that real concurrency produces only sometimes, forced here."""

from __future__ import annotations

import asyncio

from otpgate.core.model import Policy
from otpgate.core.service import VerifyOutcome
from otpgate.core.session import SessionState

from .conftest import Core
from .test_service import wrong


class GatedTransitions:
    """Holds the first ``transition`` call until released."""

    def __init__(self, core: Core) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        inner = core.store.transition
        gated = False

        async def transition(*args: object) -> bool:
            nonlocal gated
            if not gated:
                gated = True
                self.entered.set()
                await self.release.wait()
            return await inner(*args)  # type: ignore[arg-type]

        core.store.transition = transition  # type: ignore[method-assign]


async def test_a_loser_of_the_last_attempt_does_not_report_max_attempts_for_a_right_code() -> None:
    """Request A holds the 5th (last) attempt with the right code and is about to win.
    Request B, arriving then, cannot know A's result: it must not call it max attempts."""
    core = Core(Policy(verify_limit_per_minute=1000))
    sent = await core.service.start(core.request())
    code = core.courier.last_code()
    for _ in range(4):
        await core.service.verify("t1", sent.session.id, wrong(code))
    gate = GatedTransitions(core)
    a = asyncio.create_task(core.service.verify("t1", sent.session.id, code))
    await gate.entered.wait()
    b = await core.service.verify("t1", sent.session.id, code)
    gate.release.set()
    assert (await a).outcome is VerifyOutcome.VERIFIED
    assert b.outcome is VerifyOutcome.CLOSED
    assert core.store.sessions[sent.session.id].state is SessionState.VERIFIED
