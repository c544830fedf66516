"""The sponsor OTP flow: sponsors, beneficiaries, otp ids and single-use verification tokens."""
