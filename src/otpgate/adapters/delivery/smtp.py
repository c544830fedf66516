"""Email over SMTP (``aiosmtplib``): plain text and HTML parts, STARTTLS or implicit TLS."""

from __future__ import annotations

import email.utils
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import aiosmtplib

from otpgate.adapters.delivery.base import (
    Parameter,
    ProviderError,
    Rendered,
    missing_parameters,
    reveal,
)
from otpgate.core.model import Channel, DeliveryResult, OutgoingMessage

if TYPE_CHECKING:
    from otpgate.settings import Settings

Security = Literal["none", "starttls", "tls"]
DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}


class SmtpProvider:
    name = "smtp"
    channels = frozenset({Channel.EMAIL})

    def __init__(
        self,
        *,
        host: str,
        from_address: str,
        port: int | None = None,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        from_name: str | None = None,
        timeout: float = 10.0,
        ca_file: str | None = None,
    ) -> None:
        self.host = host
        self.port = port or DEFAULT_PORTS[security]
        self.security = security
        self.username = username or None
        self.password = password or None
        self.from_address = from_address
        self.from_name = from_name
        self.timeout = timeout
        self.tls_context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    @staticmethod
    def parameters() -> list[Parameter]:
        return [
            Parameter("smtp_host", "the SMTP server's host name"),
            Parameter("smtp_from", "the From address, e.g. 'Acme <no-reply@acme.example>'"),
            Parameter("smtp_port", "default 25, 587 or 465 by security", required=False),
            Parameter("smtp_security", "none | starttls | tls", required=False),
            Parameter("smtp_username", "login, if the server wants one", required=False),
            Parameter("smtp_password", "password for the login", required=False, secret=True),
            Parameter("smtp_from_name", "display name; default the brand", required=False),
            Parameter("smtp_ca_file", "extra CA bundle to trust", required=False),
        ]

    @classmethod
    def check_configuration(cls, settings: Settings) -> list[str]:
        problems = missing_parameters(settings, cls.parameters())
        if settings.smtp_from:
            _name, address = email.utils.parseaddr(settings.smtp_from)
            if "@" not in address:
                problems.append(f"OTPGATE_SMTP_FROM {settings.smtp_from!r} has no email address")
        if bool(settings.smtp_username) != bool(reveal(settings.smtp_password)):
            problems.append("OTPGATE_SMTP_USERNAME and OTPGATE_SMTP_PASSWORD go together")
        if settings.smtp_username and settings.smtp_security == "none":
            problems.append(
                "OTPGATE_SMTP_SECURITY=none would send the password in clear; use starttls or tls"
            )
        if settings.smtp_ca_file and not Path(settings.smtp_ca_file).is_file():
            problems.append(f"OTPGATE_SMTP_CA_FILE {settings.smtp_ca_file} does not exist")
        return problems

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpProvider:
        name, address = email.utils.parseaddr(settings.smtp_from or "")
        return cls(
            host=settings.smtp_host or "",
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=reveal(settings.smtp_password),
            from_address=address,
            from_name=settings.smtp_from_name or name or None,
            timeout=settings.delivery_timeout_seconds,
            ca_file=settings.smtp_ca_file,
        )

    def compose(self, message: OutgoingMessage, rendered: Rendered) -> EmailMessage:
        mail = EmailMessage()
        sender_name = self.from_name or message.brand or ""
        mail["From"] = email.utils.formataddr((sender_name, self.from_address))
        mail["To"] = message.destination.value
        mail["Subject"] = rendered.subject or "Your verification code"
        mail["Date"] = email.utils.formatdate(message.now, localtime=False)
        domain = self.from_address.rpartition("@")[2] or None
        mail["Message-ID"] = email.utils.make_msgid(domain=domain)
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(rendered.text)
        if rendered.html:
            mail.add_alternative(rendered.html, subtype="html")
        if rendered.locale:  # after the content: set_content drops Content-* headers
            mail["Content-Language"] = rendered.locale
        return mail

    async def send(self, message: OutgoingMessage, rendered: Rendered) -> DeliveryResult:
        mail = self.compose(message, rendered)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPException as exc:
            raise _smtp_failure(exc) from None
        except ssl.SSLError as exc:
            raise ProviderError(
                f"smtp: TLS failed ({exc.reason or 'handshake'})", retryable=False
            ) from None
        except OSError as exc:
            raise ProviderError(
                f"smtp: cannot reach {self.host}:{self.port} ({type(exc).__name__})",
                status_code=503,
            ) from None
        return DeliveryResult(
            ok=True, provider=self.name, status_code=200, provider_message_id=mail["Message-ID"]
        )


def _smtp_failure(exc: aiosmtplib.SMTPException) -> ProviderError:
    """Name the failure by its SMTP reply code; never echo the server's text (it may hold
    the address)."""
    if isinstance(exc.__cause__, ssl.SSLError):
        reason = exc.__cause__.reason or "handshake failed"
        return ProviderError(f"smtp: TLS failed ({reason})", retryable=False)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return ProviderError("smtp: the server timed out", status_code=504)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return ProviderError(f"smtp: login refused ({exc.code})", status_code=401, retryable=False)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        code = codes[0] if codes else 550
        return _by_reply("recipient refused", code)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return _by_reply("recipient refused", exc.code)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return _by_reply("sender refused", exc.code)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return ProviderError(f"smtp: {exc.message}", retryable=False)
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        return ProviderError(f"smtp: connection failed ({type(exc).__name__})", status_code=503)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_reply("server refused the message", exc.code)
    return ProviderError(f"smtp: {type(exc).__name__}")


def _by_reply(what: str, code: int) -> ProviderError:
    """SMTP 4xx is temporary (retry); 5xx is permanent (a client error: do not retry)."""
    if 400 <= code < 500:
        return ProviderError(f"smtp: {what}, temporarily ({code})", status_code=503)
    return ProviderError(f"smtp: {what} ({code})", status_code=400, retryable=False)
