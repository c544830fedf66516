"""The PhoneMatch gateway API: ``/process/comprehensive/gateway``, ``/continue``, ``/status``."""
