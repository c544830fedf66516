"""The audit trail beyond verification sessions: every other state change, recorded.

The core audits its sessions itself. The evaluation, gateway and sponsor stores are
wrapped here, in decorators that pass every call through and add one audit event
for each write that changed something. Events carry ids, states and counts only:
never a code, a phone number, an email, a name or a token.

============================  ==============================================
subject_type                  actions
============================  ==============================================
``evaluation``                ``created``, ``state_changed``, ``discarded``
``gateway_transaction``       ``created``, ``finished``
``sponsor``                   ``saved``
``beneficiary``               ``saved``, ``removed``
``sponsor_otp``               ``created``
``verification_token``        ``issued``, ``redeemed``
``api_key``                   ``created``, ``revoked`` (written by ``AccountStore``)
============================  ==============================================
"""

from __future__ import annotations

from typing import Any

from otpgate.core.clock import Clock
from otpgate.core.model import AuditEvent
from otpgate.core.ports import AuditLog
from otpgate.gateway.records import FinalOutcome, Transaction, TransactionStore
from otpgate.sponsors.model import Beneficiary, Sponsor, SponsorOtp, TokenRecord
from otpgate.sponsors.ports import ChallengeStore, SponsorDirectory
from otpgate.workflows.records import Evaluation, EvaluationStore


class _Auditor:
    def __init__(self, audit: AuditLog, clock: Clock) -> None:
        self._audit = audit
        self._clock = clock

    async def _record(
        self,
        tenant_id: str,
        subject_type: str,
        subject_id: str,
        action: str,
        detail: dict[str, object] | None = None,
        at: float | None = None,
    ) -> None:
        await self._audit.record(
            AuditEvent(
                tenant_id=tenant_id,
                subject_type=subject_type,
                subject_id=subject_id,
                action=action,
                at=self._clock.now() if at is None else at,
                detail=detail,
            )
        )


def _state(ev: Evaluation) -> dict[str, object]:
    return {
        "status": ev.status,
        "sub_status": ev.sub_status,
        "decision": ev.decision,
        "eval_status": ev.eval_status,
        "tags": list(ev.tags),
    }


class AuditedEvaluations(_Auditor):
    """An ``EvaluationStore`` that audits creation, every state write and discards."""

    def __init__(self, inner: EvaluationStore, audit: AuditLog, clock: Clock) -> None:
        super().__init__(audit, clock)
        self.inner = inner
        self._tenants: dict[str, str] = {}

    async def create(self, evaluation: Evaluation) -> bool:
        created = await self.inner.create(evaluation)
        if created:
            self._tenants[evaluation.id] = evaluation.tenant_id
            detail: dict[str, object] = {
                "workflow": evaluation.workflow,
                "environment": str(evaluation.environment),
            }
            await self._record(evaluation.tenant_id, "evaluation", evaluation.id, "created", detail)
        return created

    async def get(self, tenant_id: str, eval_id: str) -> Evaluation | None:
        return await self.inner.get(tenant_id, eval_id)

    async def get_by_client_id(self, tenant_id: str, client_id: str) -> Evaluation | None:
        return await self.inner.get_by_client_id(tenant_id, client_id)

    async def delete(self, eval_id: str) -> None:
        await self.inner.delete(eval_id)
        tenant_id = self._tenants.pop(eval_id, None)
        if tenant_id is not None:
            await self._record(tenant_id, "evaluation", eval_id, "discarded")

    async def update(self, evaluation: Evaluation, expected_version: int) -> bool:
        written = await self.inner.update(evaluation, expected_version)
        self._tenants.pop(evaluation.id, None)
        if written:
            await self._record(
                evaluation.tenant_id,
                "evaluation",
                evaluation.id,
                "state_changed",
                _state(evaluation),
            )
        return written

    async def add_enrichment(self, eval_id: str, body: dict[str, Any], at: float) -> None:
        await self.inner.add_enrichment(eval_id, body, at)


class AuditedTransactions(_Auditor):
    """A gateway ``TransactionStore`` that audits creation and the one finishing write."""

    def __init__(self, inner: TransactionStore, audit: AuditLog, clock: Clock) -> None:
        super().__init__(audit, clock)
        self.inner = inner
        self._tenants: dict[str, str] = {}

    async def create(self, transaction: Transaction, token_hash: str) -> None:
        await self.inner.create(transaction, token_hash)
        await self._record(
            transaction.tenant_id,
            "gateway_transaction",
            transaction.id,
            "created",
            {"service": transaction.service, "session_id": transaction.session_id},
            at=transaction.created_at,
        )

    async def by_token(self, token_hash: str) -> Transaction | None:
        return self._remember(await self.inner.by_token(token_hash))

    async def by_final_token(self, final_token_hash: str) -> Transaction | None:
        return self._remember(await self.inner.by_final_token(final_token_hash))

    async def finish(
        self,
        transaction_id: str,
        outcome: FinalOutcome,
        final_token_hash: str,
        confirmation: int,
        at: float,
    ) -> bool:
        finished = await self.inner.finish(
            transaction_id, outcome, final_token_hash, confirmation, at
        )
        tenant_id = self._tenants.pop(transaction_id, None)
        if finished and tenant_id is not None:
            await self._record(
                tenant_id,
                "gateway_transaction",
                transaction_id,
                "finished",
                {"outcome": str(outcome), "state": str(outcome.state)},
                at=at,
            )
        return finished

    def _remember(self, transaction: Transaction | None) -> Transaction | None:
        if transaction is not None:
            if len(self._tenants) > 10_000:
                self._tenants.clear()
            self._tenants[transaction.id] = transaction.tenant_id
        return transaction


class AuditedDirectory(_Auditor):
    """A ``SponsorDirectory`` that audits sponsor and beneficiary changes."""

    def __init__(self, inner: SponsorDirectory, audit: AuditLog, clock: Clock) -> None:
        super().__init__(audit, clock)
        self.inner = inner

    async def save_sponsor(self, sponsor: Sponsor, now: float) -> Sponsor:
        saved = await self.inner.save_sponsor(sponsor, now)
        detail = {
            "slug": saved.slug,
            "channels": [str(c) for c in saved.channels],
            "active": saved.active,
        }
        await self._record(saved.tenant_id, "sponsor", saved.id, "saved", detail, at=now)
        return saved

    async def sponsor(self, tenant_id: str, slug: str) -> Sponsor | None:
        return await self.inner.sponsor(tenant_id, slug)

    async def sponsor_by_id(self, tenant_id: str, sponsor_id: str) -> Sponsor | None:
        return await self.inner.sponsor_by_id(tenant_id, sponsor_id)

    async def sponsors(self, tenant_id: str) -> list[Sponsor]:
        return await self.inner.sponsors(tenant_id)

    async def save_beneficiary(self, beneficiary: Beneficiary, now: float) -> None:
        await self.inner.save_beneficiary(beneficiary, now)
        detail = {
            "sponsor_id": beneficiary.sponsor_id,
            "has_phone": beneficiary.phone is not None,
            "has_email": beneficiary.email is not None,
        }
        await self._record(
            beneficiary.tenant_id,
            "beneficiary",
            beneficiary.beneficiary_id,
            "saved",
            detail,
            at=now,
        )

    async def beneficiary(self, sponsor_id: str, beneficiary_id: str) -> Beneficiary | None:
        return await self.inner.beneficiary(sponsor_id, beneficiary_id)

    async def remove_beneficiary(self, sponsor_id: str, beneficiary_id: str) -> bool:
        found = await self.inner.beneficiary(sponsor_id, beneficiary_id)
        removed = await self.inner.remove_beneficiary(sponsor_id, beneficiary_id)
        if removed and found is not None:
            await self._record(
                found.tenant_id,
                "beneficiary",
                beneficiary_id,
                "removed",
                {"sponsor_id": sponsor_id},
            )
        return removed


class AuditedChallenges(_Auditor):
    """A sponsor ``ChallengeStore`` that audits OTP ids and verification tokens."""

    def __init__(self, inner: ChallengeStore, audit: AuditLog, clock: Clock) -> None:
        super().__init__(audit, clock)
        self.inner = inner

    async def add_otp(self, otp: SponsorOtp) -> None:
        await self.inner.add_otp(otp)
        await self._record(
            otp.tenant_id,
            "sponsor_otp",
            otp.id,
            "created",
            {
                "session_id": otp.session_id,
                "sponsor_id": otp.sponsor_id,
                "channel": str(otp.channel),
            },
            at=otp.created_at,
        )

    async def otp(self, tenant_id: str, otp_id: str) -> SponsorOtp | None:
        return await self.inner.otp(tenant_id, otp_id)

    async def add_token(self, token: TokenRecord) -> None:
        await self.inner.add_token(token)
        await self._record(
            token.tenant_id,
            "verification_token",
            token.otp_id,
            "issued",
            {"expires_at": token.expires_at},
            at=token.created_at,
        )

    async def token(self, token_hash: str) -> TokenRecord | None:
        return await self.inner.token(token_hash)

    async def token_for_otp(self, otp_id: str) -> TokenRecord | None:
        return await self.inner.token_for_otp(otp_id)

    async def redeem(self, token_hash: str, tenant_id: str, operation: str, now: float) -> bool:
        redeemed = await self.inner.redeem(token_hash, tenant_id, operation, now)
        if redeemed:
            record = await self.inner.token(token_hash)
            subject = record.otp_id if record is not None else token_hash[:12]
            await self._record(
                tenant_id,
                "verification_token",
                subject,
                "redeemed",
                {"operation": operation},
                at=now,
            )
        return redeemed
