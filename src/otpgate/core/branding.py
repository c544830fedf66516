"""How a tenant's messages are signed, whichever API asked for the code.

Every front-end passes the tenant's account on to its flow the same way; the rules live
here so that none of them has to repeat them:

- a code message is signed with the tenant's brand, else the install's
  (``OTPGATE_BRAND``);
- where an API echoes the sender (the PhoneMatch gateway's ``meta.company``), it is the
  tenant's brand, else its name;
- the locale is not chosen here: front-ends pass the request's locale (if its API has
  one) and the tenant's ``default_locale``, and the courier picks the first that has a
  template (``adapters/delivery/templates.py``).
"""

from __future__ import annotations

from otpgate.core.model import Tenant


def message_brand(tenant: Tenant, install_brand: str) -> str:
    """The name a code message is signed with."""
    return tenant.brand or install_brand


def company(tenant: Tenant) -> str:
    """The name an answer shows as the sender."""
    return tenant.brand or tenant.name
