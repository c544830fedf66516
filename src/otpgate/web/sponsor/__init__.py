"""The sponsor OTP API: OAuth client credentials, send, validate and redeem."""
