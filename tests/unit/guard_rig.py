"""A guard on in-memory ports and a fake clock, with helpers to drive it like a flow."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

from otpgate.core.clock import FakeClock
from otpgate.core.guard import Guard, GuardDecision, GuardSubject, Outcome
from otpgate.core.guard_memory import InMemoryGuardLists, InMemoryGuardStore
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.model import Destination, DestinationKind, Environment
from otpgate.destinations import parse_email, parse_phone

# Every limit out of the way: a test switches on only the one it is about.
LOOSE = GuardSettings(
    prefix_sends_per_hour=1_000_000,
    country_sends_per_hour=1_000_000,
    tenant_sends_per_hour=1_000_000,
    tenant_sends_per_day=1_000_000,
    ip_sends_per_hour=1_000_000,
    prefix_conversion_min_sends=1_000_000,
    country_conversion_min_sends=1_000_000,
    failures_per_hour=1_000_000,
)


def fingerprint(value: str) -> str:
    return hmac.new(b"k" * 32, b"dest:" + value.encode(), hashlib.sha256).hexdigest()[:32]


def phone(raw: str) -> Destination:
    return parse_phone(raw, allow_magic=False)


def email(raw: str) -> Destination:
    return parse_email(raw)


class Rig:
    def __init__(self, settings: GuardSettings | None = None, **changes: object) -> None:
        base = settings or GuardSettings()
        self.settings = replace(base, **changes) if changes else base  # type: ignore[arg-type]
        self.clock = FakeClock()
        self.store = InMemoryGuardStore()
        self.lists = InMemoryGuardLists()
        self.guard = Guard(self.settings, self.store, self.store, self.lists, fingerprint)

    def subject(
        self,
        destination: Destination,
        tenant: str = "t1",
        environment: Environment = Environment.PRODUCTION,
        ip: str | None = None,
    ) -> GuardSubject:
        return GuardSubject(tenant, environment, destination, ip)

    async def send(self, destination: Destination, **kw: object) -> GuardDecision:
        return await self.guard.check_send(self.subject(destination, **kw), self.clock.now())  # type: ignore[arg-type]

    async def verify(self, destination: Destination, **kw: object) -> GuardDecision:
        subject = self.subject(destination, **kw)  # type: ignore[arg-type]
        return await self.guard.record_verification(subject, Outcome.VERIFIED, self.clock.now())

    async def guess_wrong(self, destination: Destination, **kw: object) -> bool:
        """One wrong guess as a flow makes it: asks first; True if it was evaluated."""
        subject = self.subject(destination, **kw)  # type: ignore[arg-type]
        if not (await self.guard.check_guess(subject, self.clock.now())).allowed:
            return False
        await self.guard.record_verification(subject, Outcome.WRONG, self.clock.now())
        return True


def is_email(destination: Destination) -> bool:
    return destination.kind is DestinationKind.EMAIL
