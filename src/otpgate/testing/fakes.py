"""The in-memory unit of work of every flow, and the fakes the unit tests use.

```python
db = MemoryDatabase()
uow = MemoryUnitOfWorkFactory(db)
otp = OtpService(uow=uow, limiter=NoLimiter(), courier=RecordingCourier(), ...)
```
"""

from __future__ import annotations

from otpgate.core.memory import MemoryDatabase, MemoryUnitOfWork
from otpgate.flows.evaluation.memory import MemoryEvaluations
from otpgate.flows.phonematch.memory import MemoryTransactions
from otpgate.flows.sponsor.memory import MemoryChallenges, MemoryDirectory


class FullMemoryUnitOfWork(MemoryUnitOfWork):
    """The core's stores and every flow's, in memory."""

    def __init__(self, db: MemoryDatabase) -> None:
        super().__init__(db)
        self.evaluations = MemoryEvaluations(self)
        self.gateway = MemoryTransactions(self)
        self.directory = MemoryDirectory(self)
        self.challenges = MemoryChallenges(self)


class MemoryUnitOfWorkFactory:
    def __init__(self, db: MemoryDatabase | None = None) -> None:
        self.db = db or MemoryDatabase()

    def __call__(self) -> FullMemoryUnitOfWork:
        return FullMemoryUnitOfWork(self.db)

    reading = __call__
