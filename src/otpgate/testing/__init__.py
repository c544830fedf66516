"""What tests use: the in-memory unit of work and fakes, and app builders for HTTP tests."""
