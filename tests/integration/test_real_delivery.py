"""Production keys on the evaluation API, delivering through real providers."""

from __future__ import annotations

import email.utils
import re

import pytest
from typer.testing import CliRunner

from otpgate.adapters.delivery.base import ConfigurationError
from otpgate.cli.main import app as cli
from otpgate.settings import Settings
from otpgate.testing.app import running_app
from tests.support.server import free_port
from tests.support.smtp import start_smtp, text_part

SIX_DIGITS = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@pytest.fixture
def smtp():
    server = start_smtp()
    yield server
    server.stop()


def live_settings(db_url: str, **overrides) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=db_url,
        delivery_backoff_seconds=0.01,
        delivery_timeout_seconds=1.0,
        **overrides,
    )


def smtp_settings(db_url: str, port: int, **overrides) -> Settings:
    return live_settings(
        db_url,
        email_providers="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_from="Acme <no-reply@acme.example>",
        **overrides,
    )


def start_body(email_address: str, request_id: str = "signup-1", **individual) -> dict:
    return {
        "id": request_id,
        "workflow": "otp_verification",
        "data": {"individual": {"email": email_address, **individual}},
    }


async def test_a_production_code_arrives_by_smtp_and_verifies(db_url, smtp, clock):
    async with (
        running_app(smtp_settings(db_url, smtp.port), clock=clock) as h,
        h.client(h.production_key) as client,
    ):
        r = await client.post("/api/evaluation", json=start_body("jane@example.com"))
        assert r.status_code == 200, r.text
        started = r.json()
        assert (started["status"], started["sub_status"]) == ("ON_HOLD", "Pending OTP Code")
        assert started["environment_name"] == "Production"
        [enrichment] = started["data_enrichments"]
        assert enrichment["enrichment_provider"] == "smtp"
        assert enrichment["status_code"] == 200
        assert enrichment["request"]["destination"] == "j***e@example.com"

        [mail] = smtp.mailbox.messages
        assert mail["To"] == "jane@example.com"
        assert mail["Subject"] == "Your otpgate verification code"
        code = SIX_DIGITS.search(text_part(mail)).group(1)
        assert enrichment["response"]["providerMessageId"] == mail["Message-ID"]
        # a production message body is not kept anywhere: the outbox stays empty
        assert await h.messages("jane@example.com") == []

        r = await client.patch(
            f"/api/evaluation/{started['eval_id']}",
            json={"id": "verify-1", "data": {"individual": {"otp": {"code": code}}}},
        )
        assert r.status_code == 200, r.text
        done = r.json()
        assert (done["status"], done["sub_status"], done["decision"]) == (
            "CLOSED",
            "Approve",
            "ACCEPT",
        )


async def test_the_request_locale_picks_the_email_language(db_url, smtp, clock):
    async with (
        running_app(smtp_settings(db_url, smtp.port), clock=clock) as h,
        h.client(h.production_key) as client,
    ):
        body = start_body("jane@example.com", locale="pt-BR")
        assert (await client.post("/api/evaluation", json=body)).status_code == 200
    [mail] = smtp.mailbox.messages
    assert mail["Subject"] == "O seu código de verificação otpgate"
    assert "Ele expira em 10 minutos" in text_part(mail)


async def test_sandbox_keys_still_go_to_the_outbox(db_url, smtp, clock):
    async with running_app(smtp_settings(db_url, smtp.port), clock=clock) as h:
        async with h.client(h.sandbox_key) as client:
            r = await client.post("/api/evaluation", json=start_body("jane@example.com"))
            assert r.json()["data_enrichments"][0]["enrichment_provider"] == "outbox"
        assert smtp.mailbox.messages == []
        assert len(await h.messages("jane@example.com")) == 1


async def test_failover_to_the_next_provider_is_recorded(db_url, clock):
    down = free_port()  # nothing listens: connection refused
    settings = live_settings(
        db_url,
        email_providers="smtp,outbox",
        smtp_host="127.0.0.1",
        smtp_port=down,
        smtp_security="none",
        smtp_from="no-reply@acme.example",
    )
    async with running_app(settings, clock=clock) as h:
        async with h.client(h.production_key) as client:
            r = await client.post("/api/evaluation", json=start_body("jane@example.com"))
            body = r.json()
            assert body["status"] == "ON_HOLD"
            assert body["data_enrichments"][0]["enrichment_provider"] == "outbox"
            metrics = (await client.get("/metrics")).text
        assert 'otpgate_delivery_retries_total{provider="outbox"} 3.0' in metrics
        assert 'otpgate_deliveries_total{provider="outbox",result="ok"} 1.0' in metrics


async def test_failing_everywhere_is_the_delivery_failed_answer_not_a_500(db_url, smtp, clock):
    smtp.mailbox.refuse_recipients.add("jane@example.com")
    async with (
        running_app(smtp_settings(db_url, smtp.port), clock=clock) as h,
        h.client(h.production_key) as client,
    ):
        r = await client.post("/api/evaluation", json=start_body("jane@example.com"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["status"], body["sub_status"], body["decision"]) == (
            "CLOSED",
            "Decline",
            "REJECT",
        )
        assert "OTP Delivery Failed" in body["tags"]
        [enrichment] = body["data_enrichments"]
        assert enrichment["enrichment_provider"] == "smtp"
        assert enrichment["status_code"] == 400
        assert enrichment["response"]["error"] == "smtp: recipient refused (550)"
        # the service keeps answering
        other = await client.post(
            "/api/evaluation", json=start_body("joe@example.com", request_id="signup-2")
        )
        assert other.json()["status"] == "ON_HOLD"
    assert len(smtp.mailbox.messages) == 1


async def test_an_incomplete_configuration_stops_the_start(db_url):
    settings = live_settings(db_url, sms_providers="twilio")
    with pytest.raises(ConfigurationError) as err:
        async with running_app(settings):
            pass
    assert "OTPGATE_TWILIO_AUTH_TOKEN is not set" in str(err.value)


def test_providers_check_says_what_is_missing_and_sends_nothing(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OTPGATE_SMS_PROVIDERS", "twilio,webhook")
    monkeypatch.setenv("OTPGATE_EMAIL_PROVIDERS", "smtp,outbox")
    monkeypatch.setenv("OTPGATE_TWILIO_ACCOUNT_SID", "AC123")
    monkeypatch.setenv("OTPGATE_TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("OTPGATE_TWILIO_FROM", "+15005550006")
    monkeypatch.setenv("OTPGATE_SMTP_HOST", "mail.example")
    result = CliRunner().invoke(cli, ["providers", "check"])
    assert result.exit_code == 1
    assert "OTPGATE_WEBHOOK_URL is not set" in result.output
    assert "OTPGATE_WEBHOOK_SECRET is not set" in result.output
    assert "OTPGATE_SMTP_FROM is not set" in result.output
    assert "OTPGATE_TWILIO" not in result.output  # twilio is complete

    monkeypatch.setenv("OTPGATE_WEBHOOK_URL", "https://gw.example/otp")
    monkeypatch.setenv("OTPGATE_WEBHOOK_SECRET", "0123456789abcdef0123")
    monkeypatch.setenv("OTPGATE_SMTP_FROM", email.utils.formataddr(("Acme", "no@acme.example")))
    result = CliRunner().invoke(cli, ["providers", "check"])
    assert result.exit_code == 0, result.output
    assert "delivery configuration is complete" in result.output


def test_providers_check_refuses_a_bad_templates_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "templates.yaml"
    bad.write_text("tenants:\n  acme:\n    templates:\n      en:\n        sms: 'Code {otp}'\n")
    monkeypatch.setenv("OTPGATE_TEMPLATES_FILE", str(bad))
    result = CliRunner().invoke(cli, ["providers", "check"])
    assert result.exit_code == 1
    assert "unknown placeholder {otp}" in result.output


async def test_tenant_templates_brand_and_default_locale_hold_on_resend(
    db_url, smtp, clock, tmp_path
):
    from sqlalchemy import update

    from otpgate.adapters.sql.tables import tenants

    templates = tmp_path / "templates.yaml"
    templates.write_text(
        "tenants:\n  acme:\n    templates:\n      fr:\n        email:\n"
        "          subject: 'Code {brand}'\n          text: 'Votre code : {code} ({minutes} min)'\n"
    )
    settings = smtp_settings(db_url, smtp.port, templates_file=str(templates))
    async with running_app(settings, clock=clock) as h:
        async with h.services.engine.begin() as conn:
            await conn.execute(
                update(tenants)
                .where(tenants.c.name == "acme")
                .values(brand="Acme Bank", default_locale="fr")
            )
        async with h.client(h.production_key) as client:
            r = await client.post("/api/evaluation", json=start_body("jane@example.com"))
            eval_id = r.json()["eval_id"]
            r = await client.patch(
                f"/api/evaluation/{eval_id}",
                json={"id": "again", "data": {"individual": {"otp": {"resend": True}}}},
            )
            assert r.status_code == 200, r.text
    first, second = smtp.mailbox.messages
    for mail in (first, second):
        assert mail["Subject"] == "Code Acme Bank"
        assert text_part(mail).startswith("Votre code : ")
    assert SIX_DIGITS.search(text_part(first)).group(1) == SIX_DIGITS.search(
        text_part(second)
    ).group(1)


def test_providers_check_names_a_malformed_setting(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OTPGATE_SMTP_SECURITY", "ssl")
    result = CliRunner().invoke(cli, ["providers", "check"])
    assert result.exit_code == 2
    assert "OTPGATE_SMTP_SECURITY=ssl: not one of the allowed values" in result.output
    assert "Traceback" not in result.output
