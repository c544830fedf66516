"""A real SMTP server (aiosmtpd) for the tests, with TLS, logins and refusals on demand."""

from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import subprocess
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.support.server import free_port
from tests.support.services import missing


@dataclass
class Mailbox:
    """The aiosmtpd handler: keeps what arrives, refuses what it is told to refuse."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    refuse_recipients: set[str] = field(default_factory=set)
    temporary_failure: bool = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        if self.temporary_failure:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        )
        return "250 Message accepted"


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int
    controller: Controller

    def stop(self) -> None:
        self.controller.stop()


def start_smtp(
    *,
    login: tuple[str, str] | None = None,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
) -> SmtpServer:
    mailbox = Mailbox()
    port = free_port()
    server_kwargs: dict[str, Any] = {}
    if starttls is not None:
        server_kwargs["tls_context"] = starttls
    if login is not None:

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login.decode(), auth_data.password.decode()) == login
            return AuthResult(success=ok, handled=False)

        server_kwargs["authenticator"] = authenticator
        server_kwargs["auth_require_tls"] = starttls is not None or implicit_tls is not None
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=implicit_tls,
        server_hostname="localhost",
        server_kwargs=server_kwargs,
    )
    controller.start()
    return SmtpServer(mailbox=mailbox, port=port, controller=controller)


@dataclass
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(folder: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, made with the openssl tool."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("the openssl command is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,  # type: ignore[list-item]
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],  # fmt: skip
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)


@pytest.fixture
def smtp_server():
    server = start_smtp()
    yield server
    server.stop()
