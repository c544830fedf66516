from __future__ import annotations

import pytest

from otpgate.core.clock import FakeClock
from otpgate.core.codes import Keyring
from otpgate.core.memory import InMemoryLimiter, InMemoryStore, RecordingCourier
from otpgate.core.model import Channel, Destination, DestinationKind, Environment, Policy
from otpgate.core.service import OtpService, StartRequest

PHONE = Destination(DestinationKind.PHONE, "+14155550100", "US", "mobile", "1")
EMAIL = Destination(DestinationKind.EMAIL, "jane@example.com")


class Core:
    def __init__(self, policy: Policy | None = None) -> None:
        self.clock = FakeClock()
        self.store = InMemoryStore()
        self.limiter = InMemoryLimiter()
        self.courier = RecordingCourier()
        self.service = OtpService(
            store=self.store,
            limiter=self.limiter,
            courier=self.courier,
            keyring=Keyring({"k1": b"k" * 32}, current="k1"),
            clock=self.clock,
            policy=policy or Policy(),
            audit=self.store,
            deliveries=self.store,
        )

    def request(
        self,
        destination: Destination = PHONE,
        channel: Channel = Channel.SMS,
        environment: Environment = Environment.PRODUCTION,
        tenant: str = "t1",
    ) -> StartRequest:
        return StartRequest(
            tenant_id=tenant, environment=environment, channel=channel, destination=destination
        )


@pytest.fixture
def core() -> Core:
    return Core()
