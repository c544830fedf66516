"""One rig for the flows' unit tests: the core and the three flows on in-memory fakes.

```python
rig = FlowRig()
view = await rig.evaluations.start(StartEvaluation(...))
code = rig.courier.last_code()
rig.clock.advance(601)
```

Everything runs over one :class:`~otpgate.core.memory.MemoryDatabase` (``rig.db``) with a
fake clock and a recording courier: no network, no database, no Redis. The unit-of-work
factory counts the units of work each use case opens and can make one step of them fail
(:class:`CountingUnitOfWorkFactory`), so a test can pin down transactions and atomicity.
The flows get what the wiring gives them in production: the built-in workflows, the
disposable-domain list, the destination parsers and a ULID maker.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from functools import cache

import disposable_email_domains

from otpgate.adapters.ids import new_ulid
from otpgate.core.clock import FakeClock
from otpgate.core.codes import Keyring
from otpgate.core.guard_settings import GuardSettings
from otpgate.core.memory import MemoryDatabase, RecordingCourier
from otpgate.core.model import AuditEvent, Policy
from otpgate.core.ports import DestinationParsers, Limiter, NoLimiter
from otpgate.core.service import OtpService
from otpgate.destinations import parse_email, parse_phone
from otpgate.flows.evaluation.definitions import Workflow
from otpgate.flows.evaluation.service import EvaluationService
from otpgate.flows.phonematch.service import GatewayService
from otpgate.flows.sponsor.model import SponsorPolicy
from otpgate.flows.sponsor.service import SponsorService
from otpgate.flows.sponsor.tokens import SponsorIds
from otpgate.testing.fakes import FullMemoryUnitOfWork, MemoryUnitOfWorkFactory
from otpgate.workflow_files import load_catalog


class InjectedFailure(Exception):
    """What a step that :class:`CountingUnitOfWorkFactory` was told to break raises."""


class CountingUnitOfWorkFactory(MemoryUnitOfWorkFactory):
    """Counts the units of work opened (``opened``) and the read-only ones (``reads``).

    ``fail_audit`` (an audit action) makes recording that event raise
    :class:`InjectedFailure` after it is written; ``fail_commit`` makes every commit raise
    it. A unit of work that raises leaves nothing behind, so a test sees what a crash at
    that step would leave."""

    def __init__(self, db: MemoryDatabase) -> None:
        super().__init__(db)
        self.opened = 0
        self.reads = 0
        self.fail_audit: str | None = None
        self.fail_commit = False

    def __call__(self) -> FullMemoryUnitOfWork:
        self.opened += 1
        uow = super().__call__()
        fail_audit, fail_commit = self.fail_audit, self.fail_commit
        record, commit = uow.audit.record, uow.commit

        async def audited(event: AuditEvent) -> None:
            await record(event)
            if event.action == fail_audit:
                raise InjectedFailure(event.action)

        async def committed() -> None:
            if fail_commit:
                raise InjectedFailure("commit")
            await commit()

        uow.audit.record = audited  # type: ignore[method-assign]
        uow.commit = committed  # type: ignore[method-assign]
        return uow

    def reading(self) -> FullMemoryUnitOfWork:
        self.reads += 1
        return MemoryUnitOfWorkFactory.__call__(self)


def fixed_keyring() -> Keyring:
    """A fixed keyring: codes are reproducible from run to run."""
    return Keyring({"k1": b"k" * 32}, current="k1", lookup_key=b"l" * 32)


@cache
def builtin_workflows() -> Mapping[str, Workflow]:
    return load_catalog()


@cache
def disposable_domains() -> Set[str]:
    return frozenset(disposable_email_domains.blocklist)


class FlowRig:
    """The core's OTP service and the evaluation, PhoneMatch and sponsor flows on it."""

    def __init__(
        self,
        *,
        courier: RecordingCourier | None = None,
        limiter: Limiter | None = None,
        policy: Policy | None = None,
        guard: GuardSettings | None = None,
        workflows: Mapping[str, Workflow] | None = None,
        sponsor_policy: SponsorPolicy | None = None,
    ) -> None:
        self.clock = FakeClock()
        self.db = MemoryDatabase()
        self.uow = CountingUnitOfWorkFactory(self.db)
        self.courier = courier or RecordingCourier()
        self.limiter = limiter or NoLimiter()
        self.otp = OtpService(
            uow=self.uow,
            limiter=self.limiter,
            courier=self.courier,
            keyring=fixed_keyring(),
            clock=self.clock,
            policy=policy or Policy(),
            guard=guard,
        )
        self.evaluations = EvaluationService(
            otp=self.otp,
            uow=self.uow,
            workflows=builtin_workflows() if workflows is None else workflows,
            clock=self.clock,
            disposable_domains=disposable_domains(),
        )
        self.gateway = GatewayService(
            otp=self.otp,
            uow=self.uow,
            clock=self.clock,
            destinations=DestinationParsers(phone=parse_phone, email=parse_email),
        )
        self.sponsors = SponsorService(
            otp=self.otp,
            uow=self.uow,
            clock=self.clock,
            ids=SponsorIds(ulid=new_ulid),
            policy=sponsor_policy,
        )

    def events(self, subject_type: str | None = None) -> list[AuditEvent]:
        """The committed audit trail, oldest first; only ``subject_type``'s if given."""
        return [e for e in self.db.events if subject_type is None or e.subject_type == subject_type]
