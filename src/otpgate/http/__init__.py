"""HTTP plumbing shared by every front-end: middleware and key authentication."""
