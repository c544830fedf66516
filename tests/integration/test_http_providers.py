"""Twilio, Vonage and the webhook provider against a local HTTP server: the exact wire format,
and every way a provider can fail."""

from __future__ import annotations

import base64
import json
import time
import xml.etree.ElementTree as ET

import pytest
from werkzeug import Request, Response

from otpgate.adapters.delivery.base import ProviderError
from otpgate.adapters.delivery.courier import Courier, RetryPolicy
from otpgate.adapters.delivery.fakes import ScriptedProvider
from otpgate.adapters.delivery.templates import Renderer
from otpgate.adapters.delivery.twilio import TwilioProvider
from otpgate.adapters.delivery.vonage import VonageProvider
from otpgate.adapters.delivery.webhook import WebhookProvider, verify_signature
from otpgate.core.model import Channel
from otpgate.settings import Settings
from tests.support.messages import EMAIL, outgoing, phone
from tests.support.server import free_port
from tests.support.sockets import hang_up_server, silent_server

SID, TOKEN = "AC0123456789abcdef", "twilio-token"
SECRET = "webhook-secret-0123456789"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
CALLS = f"/2010-04-01/Accounts/{SID}/Calls.json"


class Recorder:
    """A pytest-httpserver handler that keeps each request and answers as told."""

    def __init__(self, status: int = 201, body: object = None, raw: bytes | None = None) -> None:
        self.requests: list[Request] = []
        self.bodies: list[bytes] = []
        self.status, self.body, self.raw = status, body, raw

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        self.bodies.append(request.get_data())
        if self.raw is not None:
            return Response(self.raw, status=self.status)
        return Response(json.dumps(self.body or {}), self.status, mimetype="application/json")


def basic_auth(request: Request) -> tuple[str, str]:
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    return user, password


def twilio(base_url: str, sender: str = "+15005550006") -> TwilioProvider:
    return TwilioProvider(
        account_sid=SID, auth_token=TOKEN, sender=sender, base_url=base_url, timeout=0.5
    )


def vonage(base_url: str) -> VonageProvider:
    return VonageProvider(
        api_key="vkey", api_secret="vsecret", sender="Acme", base_url=base_url, timeout=0.5
    )


def webhook(url: str) -> WebhookProvider:
    return WebhookProvider(url=url, secret=SECRET, timeout=0.5)


def rendered(msg):
    return Renderer().render(msg)


async def test_twilio_sms_wire_format(httpserver):
    recorder = Recorder(201, {"sid": "SM123", "status": "queued"})
    httpserver.expect_request(MESSAGES, method="POST").respond_with_handler(recorder)
    msg = outgoing()
    provider = twilio(httpserver.url_for(""))
    result = await provider.send(msg, rendered(msg))
    await provider.aclose()
    assert (result.ok, result.provider_message_id, result.status_code) == (True, "SM123", 200)
    [request] = recorder.requests
    assert basic_auth(request) == (SID, TOKEN)
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form.to_dict() == {
        "To": "+14155550100",
        "From": "+15005550006",
        "Body": rendered(msg).text,
    }
    assert "482910" in request.form["Body"]


async def test_twilio_messaging_service_sender(httpserver):
    recorder = Recorder(201, {"sid": "SM9"})
    httpserver.expect_request(MESSAGES, method="POST").respond_with_handler(recorder)
    msg = outgoing()
    await twilio(httpserver.url_for(""), sender="MG0001").send(msg, rendered(msg))
    form = recorder.requests[0].form
    assert form["MessagingServiceSid"] == "MG0001" and "From" not in form


async def test_twilio_voice_calls_with_twiml_that_reads_the_digits_slowly_twice(httpserver):
    recorder = Recorder(201, {"sid": "CA42"})
    httpserver.expect_request(CALLS, method="POST").respond_with_handler(recorder)
    msg = outgoing(Channel.VOICE, locale="fr")
    result = await twilio(httpserver.url_for("")).send(msg, rendered(msg))
    assert result.provider_message_id == "CA42"
    form = recorder.requests[0].form
    assert (form["To"], form["From"]) == ("+14155550100", "+15005550006")
    root = ET.fromstring(form["Twiml"].encode())
    assert root.tag == "Response"
    assert root[0].tag == "Pause"
    says = root.findall("Say")
    assert {say.get("language") for say in says} == {"fr-FR"}
    spoken = " ".join(say.text or "" for say in says)
    assert spoken.count("4, 8, 2, 9, 1, 0") == 2
    assert "482910" not in spoken
    assert len(root.findall("Pause")) >= 2  # a pause between the two readings


async def test_vonage_sms_wire_format(httpserver):
    answer = {
        "message-count": "1",
        "messages": [{"to": "525512345678", "message-id": "V-1", "status": "0"}],
    }
    recorder = Recorder(200, answer)
    httpserver.expect_request("/sms/json", method="POST").respond_with_handler(recorder)
    msg = outgoing(destination=phone("MX", "+525512345678"))
    result = await vonage(httpserver.url_for("")).send(msg, rendered(msg))
    assert (result.ok, result.provider_message_id) == (True, "V-1")
    form = recorder.requests[0].form.to_dict()
    assert form == {
        "api_key": "vkey",
        "api_secret": "vsecret",
        "from": "Acme",
        "to": "525512345678",
        "text": rendered(msg).text,
        "type": "unicode",  # Spanish "código" is not GSM-7
    }
    assert form["text"].startswith("482910 es tu código de Acme")


async def test_vonage_gsm_text_is_sent_as_text(httpserver):
    recorder = Recorder(200, {"messages": [{"message-id": "V-2", "status": "0"}]})
    httpserver.expect_request("/sms/json", method="POST").respond_with_handler(recorder)
    msg = outgoing()
    await vonage(httpserver.url_for("")).send(msg, rendered(msg))
    assert recorder.requests[0].form["type"] == "text"


@pytest.mark.parametrize(("status", "retryable"), [("1", True), ("4", False)])
async def test_vonage_refusals_inside_a_200(httpserver, status, retryable):
    answer = {"messages": [{"status": status, "error-text": "Refused for +14155550100"}]}
    httpserver.expect_request("/sms/json").respond_with_json(answer)
    msg = outgoing()
    with pytest.raises(ProviderError) as err:
        await vonage(httpserver.url_for("")).send(msg, rendered(msg))
    assert err.value.retryable is retryable
    assert f"status {status}" in str(err.value)
    assert "+14155550100" not in str(err.value)


async def test_webhook_wire_format_and_signature(httpserver):
    recorder = Recorder(200, {"message_id": "gw-7"})
    httpserver.expect_request("/hooks/otp", method="POST").respond_with_handler(recorder)
    msg = outgoing(Channel.EMAIL, EMAIL, locale="es")
    result = await webhook(httpserver.url_for("/hooks/otp")).send(msg, rendered(msg))
    assert (result.ok, result.provider_message_id) == (True, "gw-7")
    [request] = recorder.requests
    body = recorder.bodies[0]
    assert request.headers["Content-Type"] == "application/json"
    signature = request.headers["Otpgate-Signature"]
    assert verify_signature(SECRET, signature, body)
    assert not verify_signature(SECRET, signature, body.replace(b"482910", b"000000"))
    assert not verify_signature("another-secret-0123456", signature, body)
    assert not verify_signature(SECRET, signature, body, now=time.time() + 3600)
    payload = json.loads(body)
    assert payload["id"] == request.headers["Otpgate-Delivery-Id"]
    assert {k: payload[k] for k in ("version", "channel", "to", "code", "locale", "subject")} == {
        "version": 1,
        "channel": "email",
        "to": "jane@example.com",
        "code": "482910",
        "locale": "es",
        "subject": "Tu código de verificación de Acme",
    }
    assert "482910" in payload["text"] and "482910" in payload["html"]
    assert set(payload) == {
        "version", "id", "created_at", "channel", "to", "locale", "voice_language", "subject",
        "text", "html", "code", "expires_at", "tenant_id", "session_id",
    }  # fmt: skip


async def test_webhook_accepts_an_empty_2xx(httpserver):
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    msg = outgoing()
    result = await webhook(httpserver.url_for("/hook")).send(msg, rendered(msg))
    assert result.ok and result.provider_message_id  # the delivery id stands in


def each_provider(base: str):
    return [
        ("twilio", twilio(base), MESSAGES),
        ("vonage", vonage(base), "/sms/json"),
        ("webhook", webhook(base + "/hook"), "/hook"),
    ]


PROVIDERS = ["twilio", "vonage", "webhook"]


def pick(name: str, base: str):
    return next((p, path) for n, p, path in each_provider(base) if n == name)


@pytest.mark.parametrize("name", PROVIDERS)
async def test_5xx_is_a_retryable_failure(httpserver, name):
    provider, path = pick(name, httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(path).respond_with_data("upstream down", status=503)
    with pytest.raises(ProviderError) as err:
        await provider.send(outgoing(), rendered(outgoing()))
    assert (err.value.status_code, err.value.retryable) == (503, True)
    assert str(err.value) == f"{name}: HTTP 503"


@pytest.mark.parametrize("name", PROVIDERS)
async def test_4xx_is_not_retryable_and_says_why_without_the_number(httpserver, name):
    provider, path = pick(name, httpserver.url_for("").rstrip("/"))
    error = {"code": 21211, "message": "The 'To' number +14155550100 is not a valid phone number."}
    httpserver.expect_request(path).respond_with_json(error, status=400)
    with pytest.raises(ProviderError) as err:
        await provider.send(outgoing(), rendered(outgoing()))
    assert (err.value.status_code, err.value.retryable) == (400, False)
    assert "error 21211" in str(err.value)
    assert "+14155550100" not in str(err.value)


@pytest.mark.parametrize("name", PROVIDERS)
async def test_garbage_answer_is_a_failure(httpserver, name):
    provider, path = pick(name, httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(path).respond_with_data("<html>oops</html>", status=200)
    with pytest.raises(ProviderError) as err:
        await provider.send(outgoing(), rendered(outgoing()))
    assert "garbage" in str(err.value) and err.value.retryable is False


@pytest.mark.parametrize("name", PROVIDERS)
async def test_a_hanging_provider_times_out(name):
    with silent_server() as port:
        provider, _ = pick(name, f"http://127.0.0.1:{port}")
        started = time.monotonic()
        with pytest.raises(ProviderError) as err:
            await provider.send(outgoing(), rendered(outgoing()))
        assert time.monotonic() - started < 2
    assert (err.value.status_code, err.value.retryable) == (504, True)
    assert "no answer within 0.5s" in str(err.value)


@pytest.mark.parametrize("name", PROVIDERS)
async def test_a_closed_connection_is_retryable(name):
    with hang_up_server() as port:
        provider, _ = pick(name, f"http://127.0.0.1:{port}")
        with pytest.raises(ProviderError) as err:
            await provider.send(outgoing(), rendered(outgoing()))
    assert (err.value.status_code, err.value.retryable) == (503, True)
    assert str(err.value) == f"{name}: connection closed"


@pytest.mark.parametrize("name", PROVIDERS)
async def test_connection_refused_is_retryable(name):
    provider, _ = pick(name, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderError) as err:
        await provider.send(outgoing(), rendered(outgoing()))
    assert (err.value.status_code, err.value.retryable) == (503, True)
    assert str(err.value) == f"{name}: connection refused"


async def test_failover_from_a_failing_twilio_to_the_webhook(httpserver):
    twilio_down = Recorder(500, {"message": "boom"})
    gateway = Recorder(200, {"message_id": "gw-1"})
    httpserver.expect_request(MESSAGES).respond_with_handler(twilio_down)
    httpserver.expect_request("/hook").respond_with_handler(gateway)
    base = httpserver.url_for("").rstrip("/")
    courier = Courier(
        sandbox=ScriptedProvider("outbox"),
        production={Channel.SMS: [twilio(base), webhook(base + "/hook")]},
        renderer=Renderer(),
        retry=RetryPolicy(attempts=3, backoff_seconds=0.01, budget_seconds=5),
    )
    result = await courier.deliver(outgoing())
    await courier.aclose()
    assert (result.ok, result.provider, result.provider_message_id) == (True, "webhook", "gw-1")
    assert len(twilio_down.requests) == 3 and len(gateway.requests) == 1
    assert result.attempts == 4
    # the same delivery id on a retried webhook lets a gateway drop duplicates
    assert json.loads(gateway.bodies[0])["id"] == gateway.requests[0].headers["Otpgate-Delivery-Id"]


def test_check_configuration_of_the_http_providers():
    bare = Settings(_env_file=None)  # type: ignore[call-arg]
    twilio_problems = TwilioProvider.check_configuration(bare)
    assert [p.split(" ")[0] for p in twilio_problems] == [
        "OTPGATE_TWILIO_ACCOUNT_SID",
        "OTPGATE_TWILIO_AUTH_TOKEN",
        "OTPGATE_TWILIO_FROM",
    ]
    assert [p.split(" ")[0] for p in VonageProvider.check_configuration(bare)] == [
        "OTPGATE_VONAGE_API_KEY",
        "OTPGATE_VONAGE_API_SECRET",
        "OTPGATE_VONAGE_FROM",
    ]
    weak = Settings(_env_file=None, webhook_url="ftp://x", webhook_secret="short")  # type: ignore[call-arg]
    assert WebhookProvider.check_configuration(weak) == [
        "OTPGATE_WEBHOOK_URL must be an http(s) URL",
        "OTPGATE_WEBHOOK_SECRET must be at least 16 characters",
    ]
