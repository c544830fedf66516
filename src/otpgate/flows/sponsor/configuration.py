"""What a sponsor's configuration tells a client: which operations need an OTP.

``GET /v1/sponsors/{slug}/configuration`` lists, per product type, the operations that
need a verified OTP. An inactive sponsor sends no OTP, so it requires none; asked about
one product type, the answer holds just that type (with no operations if the sponsor
names none for it).
"""

from __future__ import annotations

from dataclasses import dataclass

from otpgate.flows.sponsor.model import Sponsor


@dataclass(frozen=True, slots=True)
class ProductRules:
    product_type: str
    operations_requiring_otp: tuple[str, ...]


def otp_rules(sponsor: Sponsor, product_type: str | None = None) -> list[ProductRules]:
    """The sponsor's rules by product type, in name order (one type if ``product_type``)."""
    rules = dict(sponsor.otp_operations)
    if product_type is not None:
        rules = {product_type: rules.get(product_type, ())}
    return [
        ProductRules(name, tuple(operations) if sponsor.active else ())
        for name, operations in sorted(rules.items())
    ]
