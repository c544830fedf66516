"""Adapters behind the core's ports: SQL, Redis, delivery providers."""
