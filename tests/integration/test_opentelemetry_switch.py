"""``OTPGATE_OPENTELEMETRY``: FastAPI's native OpenTelemetry instrumentation is off unless
asked for, so no request pays its look-up of the global providers."""

from __future__ import annotations

import pytest
from opentelemetry import trace

from otpgate.settings import Settings
from otpgate.testing.app import running_app


@pytest.mark.parametrize(("enabled", "looks_up"), [(False, False), (True, True)])
async def test_requests_look_for_otel_providers_only_when_enabled(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, enabled: bool, looks_up: bool
) -> None:
    lookups: list[object] = []
    real = trace.get_tracer_provider

    def counted() -> trace.TracerProvider:
        lookups.append(None)
        return real()

    monkeypatch.setattr(trace, "get_tracer_provider", counted)
    configured = settings.model_copy(update={"opentelemetry": enabled})
    async with running_app(configured) as h, h.client(h.sandbox_key) as c:
        lookups.clear()
        assert (await c.get("/healthz")).status_code == 200
    assert bool(lookups) is looks_up
