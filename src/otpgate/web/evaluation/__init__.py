"""The evaluation API (``/api/evaluation``), wire-compatible with the integration guide."""
