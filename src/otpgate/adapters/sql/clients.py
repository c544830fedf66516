"""OAuth clients of the sponsor API: an API key's id is the client id, the key its secret."""

from __future__ import annotations

import hmac

from otpgate.adapters.sql.accounts import AccountStore
from otpgate.core.model import Principal


class ClientDirectory:
    """Authenticates client credentials; finds the live key behind an access token."""

    def __init__(self, accounts: AccountStore) -> None:
        self.accounts = accounts

    async def authenticate(self, client_id: str, client_secret: str) -> Principal | None:
        principal = await self.accounts.authenticate(client_secret)
        if principal is None or not hmac.compare_digest(
            principal.key_id.encode(), client_id.encode()
        ):
            return None
        return principal

    async def principal(self, key_id: str) -> Principal | None:
        """The tenant behind an unrevoked key (cached like every key lookup)."""
        return await self.accounts.principal_for_key_id(key_id)
