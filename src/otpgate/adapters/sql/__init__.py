"""SQLite and PostgreSQL: the schema, migrations, the unit of work and its stores."""
