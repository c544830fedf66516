"""The stores the sponsor flow needs (a directory, and the challenges it issues), and the
unit of work that reaches them in the same transaction as the core's stores."""

from __future__ import annotations

from typing import Protocol

from otpgate.core.model import Environment, Principal, Scope
from otpgate.core.uow import UnitOfWork
from otpgate.flows.sponsor.model import (
    AccessClaims,
    AccessToken,
    Beneficiary,
    Sponsor,
    SponsorOtp,
    TokenRecord,
)


class SponsorDirectory(Protocol):
    """Sponsors and their beneficiaries, each belonging to one tenant and one environment.

    Every lookup takes the caller's :class:`Scope`: another tenant's or the other
    environment's sponsor or beneficiary is not found, and never changed.
    """

    async def save_sponsor(self, sponsor: Sponsor, now: float) -> Sponsor:
        """Create or replace the sponsor ``(tenant_id, environment, slug)``; return it as
        stored."""
        ...

    async def sponsor(self, scope: Scope, slug: str) -> Sponsor | None: ...

    async def sponsor_by_id(self, scope: Scope, sponsor_id: str) -> Sponsor | None: ...

    async def sponsors(self, scope: Scope) -> list[Sponsor]: ...

    async def save_beneficiary(self, beneficiary: Beneficiary, now: float) -> bool:
        """Create or replace; ``False`` (nothing written) if the sponsor's beneficiary
        with that id belongs to another scope."""
        ...

    async def beneficiary(
        self, scope: Scope, sponsor_id: str, beneficiary_id: str
    ) -> Beneficiary | None: ...

    async def remove_beneficiary(
        self, scope: Scope, sponsor_id: str, beneficiary_id: str
    ) -> bool: ...


class ChallengeStore(Protocol):
    """otp ids and verification tokens (stored hashed)."""

    async def add_otp(self, otp: SponsorOtp) -> None: ...

    async def otp(self, scope: Scope, otp_id: str) -> SponsorOtp | None: ...

    async def add_token(self, token: TokenRecord) -> None: ...

    async def token(self, scope: Scope, token_hash: str) -> TokenRecord | None: ...

    async def token_for_otp(self, otp_id: str) -> TokenRecord | None: ...

    async def redeem(self, scope: Scope, token_hash: str, operation: str, now: float) -> bool:
        """Mark the token used, atomically: ``True`` for exactly one caller, ever.

        Succeeds only while the token is unredeemed and unexpired
        (``UPDATE … WHERE redeemed_at IS NULL AND expires_at > now``, row count 1); on a
        database the row stays locked by this unit of work until it ends.
        """
        ...


class SponsorUnitOfWork(UnitOfWork, Protocol):
    @property
    def directory(self) -> SponsorDirectory: ...

    @property
    def challenges(self) -> ChallengeStore: ...


class SponsorUnitOfWorkFactory(Protocol):
    """Makes a new, not yet opened unit of work; ``async with`` opens it."""

    def __call__(self) -> SponsorUnitOfWork:
        """A unit of work that writes."""
        ...

    def reading(self) -> SponsorUnitOfWork:
        """A unit of work that only reads (a read-only transaction)."""
        ...


class ClientCredentials(Protocol):
    """OAuth clients: an API key's id and secret, as the token endpoint receives them."""

    async def authenticate(self, client_id: str, client_secret: str) -> Principal | None: ...

    async def principal(self, key_id: str) -> Principal | None:
        """The key's principal while the key is still live."""
        ...


class AccessTokenIssuer(Protocol):
    """Bearer tokens for the sponsor API: issued for one key, read back into its claims."""

    def issue(self, key_id: str, tenant_id: str, environment: Environment) -> AccessToken: ...

    def read(self, token: str) -> AccessClaims:
        """The claims of a genuine, unexpired token; ``Unauthorized`` for anything else."""
        ...
