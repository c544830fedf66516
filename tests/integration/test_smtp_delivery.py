"""The SMTP provider against a real SMTP server process (aiosmtpd)."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from otpgate.adapters.delivery.base import ProviderError
from otpgate.adapters.delivery.smtp import SmtpProvider
from otpgate.adapters.delivery.templates import Renderer
from otpgate.core.model import Channel
from otpgate.settings import Settings
from tests.support.messages import EMAIL, outgoing
from tests.support.server import free_port
from tests.support.smtp import html_part, make_certificate, start_smtp, text_part


@pytest.fixture
def smtp():
    server = start_smtp()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


def provider(port: int, **kwargs) -> SmtpProvider:
    options = {"host": "127.0.0.1", "port": port, "security": "none"}
    options |= {"from_address": "no-reply@acme.example", "timeout": 2.0} | kwargs
    return SmtpProvider(**options)


def message(locale: str | None = None):
    msg = outgoing(Channel.EMAIL, EMAIL, locale=locale)
    return msg, Renderer().render(msg)


async def test_the_message_arrives_with_recipient_subject_code_and_both_parts(smtp):
    msg, rendered = message()
    result = await provider(smtp.port, from_name="Acme Security").send(msg, rendered)
    assert result.ok and result.provider == "smtp"
    [mail] = smtp.mailbox.messages
    assert smtp.mailbox.envelopes[0].rcpt_tos == ["jane@example.com"]
    assert smtp.mailbox.envelopes[0].mail_from == "no-reply@acme.example"
    assert mail["To"] == "jane@example.com"
    assert mail["From"] == "Acme Security <no-reply@acme.example>"
    assert mail["Subject"] == "Your Acme verification code"
    assert mail["Message-ID"] == result.provider_message_id
    assert "482910" in text_part(mail)
    assert "<strong" in html_part(mail) and "482910" in html_part(mail)


async def test_a_localized_subject_survives_the_wire(smtp):
    msg, rendered = message("de")
    await provider(smtp.port).send(msg, rendered)
    [mail] = smtp.mailbox.messages
    assert mail["Subject"] == "Ihr Acme-Bestätigungscode"
    assert mail["From"] == "Acme <no-reply@acme.example>"  # the brand names the sender
    assert mail["Content-Language"] == "de"
    assert "lautet 482910" in text_part(mail)


async def test_starttls_with_login(certificate):
    server = start_smtp(login=("mailer", "s3cret"), starttls=certificate.server_context())
    try:
        smtp = provider(
            server.port,
            security="starttls",
            username="mailer",
            password="s3cret",
            ca_file=str(certificate.cert),
        )
        result = await smtp.send(*message())
        assert result.ok
        assert "482910" in text_part(server.mailbox.messages[0])
    finally:
        server.stop()


async def test_implicit_tls(certificate):
    server = start_smtp(implicit_tls=certificate.server_context())
    try:
        smtp = provider(server.port, security="tls", ca_file=str(certificate.cert))
        assert (await smtp.send(*message())).ok
        assert len(server.mailbox.messages) == 1
    finally:
        server.stop()


async def test_an_untrusted_certificate_is_refused(certificate):
    server = start_smtp(implicit_tls=certificate.server_context())
    try:
        with pytest.raises(ProviderError) as err:
            await provider(server.port, security="tls").send(*message())
        assert err.value.retryable is False
        assert "TLS" in str(err.value)
        assert server.mailbox.messages == []
    finally:
        server.stop()


async def test_a_rejected_login_is_a_permanent_failure(certificate):
    server = start_smtp(login=("mailer", "s3cret"), starttls=certificate.server_context())
    try:
        smtp = provider(
            server.port,
            security="starttls",
            username="mailer",
            password="wrong",
            ca_file=str(certificate.cert),
        )
        with pytest.raises(ProviderError) as err:
            await smtp.send(*message())
        assert str(err.value) == "smtp: login refused (535)"
        assert (err.value.status_code, err.value.retryable) == (401, False)
    finally:
        server.stop()


async def test_a_rejected_recipient_is_a_permanent_failure_without_the_address(smtp):
    smtp.mailbox.refuse_recipients.add("jane@example.com")
    with pytest.raises(ProviderError) as err:
        await provider(smtp.port).send(*message())
    assert str(err.value) == "smtp: recipient refused (550)"
    assert (err.value.status_code, err.value.retryable) == (400, False)


async def test_a_temporary_refusal_is_retryable(smtp):
    smtp.mailbox.temporary_failure = True
    with pytest.raises(ProviderError) as err:
        await provider(smtp.port).send(*message())
    assert err.value.retryable and err.value.status_code == 503


async def test_connection_refused_is_retryable():
    with pytest.raises(ProviderError) as err:
        await provider(free_port()).send(*message())
    assert err.value.retryable and err.value.status_code == 503


async def test_a_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(ProviderError) as err:
            await provider(listener.getsockname()[1], timeout=0.3).send(*message())
        assert loop.time() - started < 3
        assert err.value.retryable and err.value.status_code == 504
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


def test_check_configuration_says_what_is_missing(tmp_path):
    bare = Settings(_env_file=None, email_providers="smtp")  # type: ignore[call-arg]
    problems = SmtpProvider.check_configuration(bare)
    assert any(p.startswith("OTPGATE_SMTP_HOST is not set") for p in problems)
    assert any(p.startswith("OTPGATE_SMTP_FROM is not set") for p in problems)
    half = Settings(  # type: ignore[call-arg]
        _env_file=None,
        smtp_host="mail.example",
        smtp_from="Acme <no-reply@acme.example>",
        smtp_username="mailer",
        smtp_security="none",
    )
    problems = SmtpProvider.check_configuration(half)
    assert "OTPGATE_SMTP_USERNAME and OTPGATE_SMTP_PASSWORD go together" in problems
    assert any("in clear" in p for p in problems)
    complete = Settings(  # type: ignore[call-arg]
        _env_file=None, smtp_host="mail.example", smtp_from="no-reply@acme.example"
    )
    assert SmtpProvider.check_configuration(complete) == []
    built = SmtpProvider.from_settings(complete)
    assert (built.port, built.security) == (587, "starttls")
