"""`otpgate tenants set` gives a tenant its brand and default message locale."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from otpgate.cli.main import app as cli
from otpgate.settings import Settings
from otpgate.testing.app import running_app

EMAIL = "cliente@example.com"


def body(id: str, **individual: str) -> dict[str, object]:
    return {"id": id, "workflow": "otp_verification",
            "data": {"individual": {"email": EMAIL, **individual}}}  # fmt: skip


def test_the_tenant_default_locale_and_brand_shape_its_messages(
    db_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTPGATE_DATABASE_URL", db_url)
    done = CliRunner().invoke(
        cli, ["tenants", "set", "acme", "--brand", "Acme Bank", "--default-locale", "es"]
    )
    assert done.exit_code == 0, done.output
    assert "acme: brand Acme Bank; default locale es" in done.output

    async def send_two() -> tuple[str, str]:
        async with running_app(settings) as h, h.client(h.sandbox_key) as c:
            assert (await c.post("/api/evaluation", json=body("t1"))).status_code == 200
            [spanish] = await h.messages(EMAIL)
            # An explicit request locale still wins over the tenant's default.
            r = await c.post("/api/evaluation", json=body("t2", locale="fr"))
            assert r.status_code == 200
            return spanish, (await h.messages(EMAIL))[0]

    spanish, french = asyncio.run(send_two())
    assert "Tu código de verificación de Acme Bank es" in spanish
    assert "Acme Bank" in french and "code" in french and "código" not in french
    listed = CliRunner().invoke(cli, ["tenants", "list"])
    assert "acme: brand Acme Bank; default locale es" in listed.output


def test_tenants_set_refuses_malformed_locales(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTPGATE_DATABASE_URL", db_url)
    done = CliRunner().invoke(cli, ["tenants", "set", "acme", "--default-locale", "Spanish"])
    assert done.exit_code != 0 and "not a locale" in done.output
