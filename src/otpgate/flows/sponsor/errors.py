"""Errors of the sponsor flow that the core's tree has no word for.

They extend :mod:`otpgate.core.errors`, so front-ends map them in the same table:

=======================  ====================================================
code                     meaning
=======================  ====================================================
``already_validated``    the OTP was validated; its token is not yet redeemed
``otp_gone``             the OTP expired or was invalidated; send a new one
``wrong_code``           the code is wrong (``attempts_remaining`` says more)
``channel_unavailable``  the sponsor or the beneficiary has no such channel
``delivery_failed``      no provider could deliver the code
=======================  ====================================================
"""

from __future__ import annotations

from otpgate.core.errors import Conflict, OtpError


class AlreadyValidated(Conflict):
    code = "already_validated"


class OtpGone(OtpError):
    code = "otp_gone"


class WrongCode(OtpError):
    code = "wrong_code"

    def __init__(self, message: str, attempts_remaining: int) -> None:
        super().__init__(message)
        self.attempts_remaining = attempts_remaining


class ChannelUnavailable(OtpError):
    code = "channel_unavailable"


class DeliveryFailed(OtpError):
    code = "delivery_failed"
