"""The PhoneMatch gateway service: its rules and use-cases on the core."""
