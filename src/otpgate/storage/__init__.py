"""Persistence adapters: SQLAlchemy 2 (SQLite, PostgreSQL) behind the core's ports."""
