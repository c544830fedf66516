"""Tenant-side endpoints: the outbox (and, later, sponsors and beneficiaries)."""
