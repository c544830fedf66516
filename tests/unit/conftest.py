from __future__ import annotations

import pytest

from otpgate.core.guard_settings import GuardSettings
from otpgate.core.model import Channel, Destination, DestinationKind, Environment, Policy
from otpgate.core.service import OtpService, SendResult, StartRequest, VerifyResult
from otpgate.core.session import VerificationSession
from otpgate.testing.fakes import MemoryUnitOfWorkFactory
from otpgate.testing.flows import FlowRig

PHONE = Destination(DestinationKind.PHONE, "+14155550100", "US", "mobile", "1")
EMAIL = Destination(DestinationKind.EMAIL, "jane@example.com")


class Requests:
    """The core's use cases as a front-end runs them: each call one request, with its own
    units of work on the in-memory database."""

    def __init__(self, otp: OtpService, uow: MemoryUnitOfWorkFactory) -> None:
        self.otp = otp
        self.uow = uow

    @property
    def policy(self) -> Policy:
        return self.otp.policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        self.otp.policy = policy

    async def start(self, request: StartRequest) -> SendResult:
        return await self.otp.start(request)

    async def verify(self, tenant_id: str, session_id: str, code: str) -> VerifyResult:
        now = self.otp.clock.now()
        async with self.uow() as uow:
            result = await self.otp.verify(
                uow, tenant_id, session_id, code, now, subject=session_id
            )
            await uow.commit()
        return result

    async def resend(self, tenant_id: str, session_id: str) -> SendResult:
        now = self.otp.clock.now()
        async with self.uow() as uow:
            session = await self.otp.get(uow, tenant_id, session_id)
        pre = await self.otp.precount(session.destination_key, now)
        async with self.uow() as uow:
            dispatch = await self.otp.redeliver(uow, tenant_id, session_id, now, pre)
            await uow.commit()
        result = await self.otp.send(dispatch)
        async with self.uow() as uow:
            await self.otp.record(uow, dispatch, result, now)
            session = await self.otp.get(uow, tenant_id, session_id)
            await uow.commit()
        return SendResult(session, result)

    async def cancel(self, tenant_id: str, session_id: str) -> VerificationSession:
        async with self.uow() as uow:
            session = await self.otp.cancel(uow, tenant_id, session_id, self.otp.clock.now())
            await uow.commit()
        return session

    async def get(self, tenant_id: str, session_id: str) -> VerificationSession:
        async with self.uow() as uow:
            return await self.otp.get(uow, tenant_id, session_id)


class Core(FlowRig):
    """The shared rig, driven through the core's use cases (``service``)."""

    def __init__(self, policy: Policy | None = None, guard: GuardSettings | None = None) -> None:
        super().__init__(policy=policy, guard=guard)
        self.store = self.db
        self.service = Requests(self.otp, self.uow)

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
