"""The flows on the core: evaluation workflows, the PhoneMatch gateway, the sponsor OTP flow."""
