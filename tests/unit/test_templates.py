from __future__ import annotations

from pathlib import Path

import pytest

from otpgate.adapters.delivery.catalog import (
    BUILTIN_LOCALES,
    TemplateError,
    check_template,
    load_book,
)
from otpgate.adapters.delivery.gsm import is_gsm7, segments
from otpgate.adapters.delivery.templates import Renderer
from otpgate.core.model import Channel
from tests.support.messages import EMAIL, outgoing, phone


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def test_default_english_sms_fits_one_gsm7_segment_even_with_a_ten_digit_code(renderer):
    rendered = renderer.render(outgoing(code="1234567890", brand="otpgate", minutes=10))
    assert rendered.locale == "en"
    assert is_gsm7(rendered.text)
    assert len(rendered.text) <= 160
    assert segments(rendered.text) == 1
    assert rendered.text.startswith("1234567890 is your otpgate verification code")


@pytest.mark.parametrize("locale", BUILTIN_LOCALES)
def test_every_builtin_sms_fits_one_segment(renderer, locale):
    rendered = renderer.render(outgoing(locale=locale, brand="otpgate"))
    assert rendered.locale == locale
    assert segments(rendered.text) == 1, rendered.text


@pytest.mark.parametrize(
    ("locale", "sms", "subject"),
    [
        ("en", "482910 is your Acme verification code", "Your Acme verification code"),
        ("es", "482910 es tu código de Acme", "Tu código de verificación de Acme"),
        ("fr", "482910 est votre code de vérification Acme", "Votre code de vérification Acme"),
        ("de", "482910 ist Ihr Acme-Bestätigungscode", "Ihr Acme-Bestätigungscode"),
        ("pt", "482910 é o seu código Acme", "O seu código de verificação Acme"),
    ],
)
def test_each_builtin_locale_speaks_its_language(renderer, locale, sms, subject):
    assert renderer.render(outgoing(locale=locale)).text.startswith(sms)
    mail = renderer.render(outgoing(Channel.EMAIL, locale=locale))
    assert mail.subject == subject
    assert "482910" in mail.text
    assert mail.html is not None and "482910" in mail.html


def test_locale_order_explicit_then_country_then_tenant_default_then_english(renderer):
    mexico = phone("MX", "+525512345678")
    # a number of no known country: the tenant default decides
    assert renderer.render(outgoing(default_locale="de", destination=phone(None))).locale == "de"
    # the phone number's country overrides the tenant default
    assert renderer.render(outgoing(default_locale="de", destination=mexico)).locale == "es"
    # an explicit locale overrides both
    assert (
        renderer.render(outgoing(locale="fr", default_locale="de", destination=mexico)).locale
        == "fr"
    )
    # regional variants fall back to their language; unknown locales fall through
    assert renderer.render(outgoing(locale="pt_BR")).locale == "pt"
    assert renderer.render(outgoing(locale="xx", destination=mexico)).locale == "es"
    assert renderer.render(outgoing(destination=phone("BR", "+5511987654321"))).locale == "pt"
    # an email has no country: the tenant default decides, else English
    assert renderer.render(outgoing(Channel.EMAIL, EMAIL, default_locale="de")).locale == "de"
    assert renderer.render(outgoing(Channel.EMAIL, EMAIL)).locale == "en"


def test_voice_reads_the_digits_one_by_one_twice(renderer):
    rendered = renderer.render(outgoing(Channel.VOICE, code="482910"))
    assert rendered.text.count("4, 8, 2, 9, 1, 0") == 2
    assert "482910" not in rendered.text
    assert rendered.voice_language == "en-US"
    spanish = renderer.render(outgoing(Channel.VOICE, locale="es"))
    assert spanish.voice_language == "es-ES"
    assert spanish.text.count("4, 8, 2, 9, 1, 0") == 2


def test_message_template_bypasses_the_templates(renderer):
    rendered = renderer.render(outgoing(locale="fr", message_template="PIN {pin} for Shop"))
    assert rendered.text == "PIN 482910 for Shop"


def test_autofill_line_is_opt_in_and_last():
    plain = Renderer().render(outgoing())
    assert "@" not in plain.text
    rendered = Renderer(autofill_domain="login.acme.example").render(outgoing())
    assert rendered.text.splitlines()[-1] == "@login.acme.example #482910"
    voice = Renderer(autofill_domain="login.acme.example").render(outgoing(Channel.VOICE))
    assert "@login" not in voice.text


def test_html_part_escapes_the_brand(renderer):
    rendered = renderer.render(outgoing(Channel.EMAIL, brand="<b>Evil & Co</b>"))
    assert rendered.html is not None
    assert "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in rendered.html
    assert "<b>Evil" not in rendered.html
    assert "<strong" in rendered.html


@pytest.mark.parametrize(
    "text",
    ["Code {pin}", "Code {code} {otp}", "{code.__class__}", "{}", "{code!r}", "{code:>10}", "{"],
)
def test_unknown_or_unsafe_placeholders_are_refused(text):
    with pytest.raises(TemplateError):
        check_template(text, "here")


TENANT_FILE = """
tenants:
  acme:
    autofill_domain: acme.example
    templates:
      en:
        sms: "Acme code {code}, {minutes} min"
      es-MX:
        sms: "Acme: tu código es {code}"
        email:
          subject: "Código {brand}"
          text: "Tu código es {code}"
          html: "<p>Tu código es <b>{code}</b> ({brand})</p>"
"""


def test_tenant_templates_override_per_locale_and_channel(tmp_path: Path):
    path = tmp_path / "templates.yaml"
    path.write_text(TENANT_FILE)
    renderer = Renderer(load_book(str(path)))
    en = renderer.render(outgoing(), tenant="acme")
    assert en.text == "Acme code 482910, 10 min\n\n@acme.example #482910"
    mx = renderer.render(outgoing(locale="es-MX"), tenant="acme")
    assert mx.text.startswith("Acme: tu código es 482910")
    mail = renderer.render(outgoing(Channel.EMAIL, locale="es-mx", brand="A&B"), tenant="acme")
    assert mail.subject == "Código A&B"
    assert mail.html == "<p>Tu código es <b>482910</b> (A&amp;B)</p>"
    # a channel the tenant did not override uses the built-in text of that locale
    voice = renderer.render(outgoing(Channel.VOICE, locale="es-MX"), tenant="acme")
    assert voice.text.startswith("Tu código de verificación de Acme")
    # another tenant gets the built-ins, without the autofill line
    assert renderer.render(outgoing(), tenant="other").text.startswith("482910 is your Acme")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("tenants:\n  acme:\n    templates:\n      en:\n        sms: 'Code {pin}'\n", "{pin}"),
        ("tenants:\n  acme:\n    templates:\n      en:\n        fax: 'x {code}'\n", "fax"),
        ("tenants:\n  acme:\n    templates:\n      en:\n        email: {text: x}\n", "subject"),
        ("tenants:\n  acme:\n    autofill_domain: 'not a domain'\n", "autofill_domain"),
        ("other: 1\n", "tenants"),
        ("tenants: [\n", "not valid YAML"),
    ],
)
def test_bad_template_files_are_refused_at_load(tmp_path: Path, content, fragment):
    path = tmp_path / "templates.yaml"
    path.write_text(content)
    with pytest.raises(TemplateError) as err:
        load_book(str(path))
    assert fragment in str(err.value)


def test_missing_template_file_is_refused(tmp_path: Path):
    with pytest.raises(TemplateError, match="cannot read"):
        load_book(str(tmp_path / "nope.yaml"))
