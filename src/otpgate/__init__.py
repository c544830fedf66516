"""otpgate: a self-hosted one-time-passcode verification service."""

__version__ = "0.1.0"
