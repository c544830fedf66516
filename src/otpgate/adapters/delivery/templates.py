"""Message text for each channel, in the reader's language.

Templates are set on the account side (built-in, or the operator's templates file per
tenant), never per request. The locale is the first of these that has a template:
the request's explicit locale, the language of the phone number's country, the tenant's
default locale, English. A front-end's own ``message_template`` (``{pin}``) bypasses
all of it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from otpgate.adapters.delivery.base import Rendered
from otpgate.adapters.delivery.catalog import (
    EmailTemplate,
    LocaleTemplates,
    TemplateBook,
    TenantTemplates,
    load_book,
    normalise_locale,
)
from otpgate.adapters.delivery.locales import locale_for_country
from otpgate.core.model import Channel, OutgoingMessage

DEFAULT_BRAND = "otpgate"
FALLBACK_LOCALE = "en"


def spoken_digits(code: str) -> str:
    """``"482"`` → ``"4, 8, 2"``: text-to-speech reads each digit, with a pause between."""
    return ", ".join(code)


def autofill_line(domain: str, code: str) -> str:
    """The WebOTP / origin-bound line browsers and phones read the code from."""
    return f"@{domain} #{code}"


@dataclass(frozen=True, slots=True)
class _Choice:
    locale: str
    templates: LocaleTemplates
    voice_language: str | None


class Renderer:
    def __init__(
        self,
        book: TemplateBook | None = None,
        *,
        default_brand: str = DEFAULT_BRAND,
        autofill_domain: str | None = None,
    ) -> None:
        self.book = book or load_book()
        self.default_brand = default_brand
        self.autofill_domain = autofill_domain

    @property
    def has_tenant_templates(self) -> bool:
        return bool(self.book.tenants)

    def render(
        self,
        message: OutgoingMessage,
        *,
        tenant: str | None = None,
        brand: str | None = None,
        default_locale: str | None = None,
    ) -> Rendered:
        """``tenant``, ``brand`` and ``default_locale`` come from the account, when known."""
        code = message.code
        if message.message_template is not None:
            return Rendered(text=message.message_template.replace("{pin}", code))
        overrides = self.book.tenants.get(tenant) if tenant else None
        choice = self._choose(message, overrides, default_locale)
        values = {
            "code": code,
            "brand": message.brand or brand or self.default_brand,
            "minutes": str(message.minutes_left),
            "spoken_code": spoken_digits(code),
        }
        templates = choice.templates
        if message.channel is Channel.SMS and templates.sms is not None:
            text = templates.sms.format(**values)
            domain = (overrides.autofill_domain if overrides else None) or self.autofill_domain
            if domain:
                text = f"{text}\n\n{autofill_line(domain, code)}"
            return Rendered(text=text, locale=choice.locale)
        if message.channel is Channel.VOICE and templates.voice is not None:
            return Rendered(
                text=templates.voice.format(**values),
                locale=choice.locale,
                voice_language=choice.voice_language,
            )
        assert templates.email is not None
        return _email(templates.email, values, choice.locale)

    def locale_candidates(self, message: OutgoingMessage, default_locale: str | None) -> list[str]:
        raw = [
            message.locale,
            locale_for_country(message.destination.country),
            message.default_locale or default_locale,
            FALLBACK_LOCALE,
        ]
        out: list[str] = []
        for value in raw:
            if not value:
                continue
            locale = normalise_locale(value)
            for key in (locale, locale.split("-")[0]):
                if key not in out:
                    out.append(key)
        return out

    def _choose(
        self,
        message: OutgoingMessage,
        overrides: TenantTemplates | None,
        default_locale: str | None,
    ) -> _Choice:
        channel = message.channel
        for locale in self.locale_candidates(message, default_locale):
            builtin = self.book.builtin.get(locale)
            own = overrides.locales.get(locale) if overrides else None
            language = (own.voice_language if own else None) or (
                builtin.voice_language if builtin else None
            )
            for templates in (own, builtin):
                if templates is not None and _has(templates, channel):
                    return _Choice(locale, templates, language)
        return _Choice(FALLBACK_LOCALE, self.book.builtin[FALLBACK_LOCALE], "en-US")


def _has(templates: LocaleTemplates, channel: Channel) -> bool:
    if channel is Channel.SMS:
        return templates.sms is not None
    if channel is Channel.VOICE:
        return templates.voice is not None
    return templates.email is not None


def _email(template: EmailTemplate, values: dict[str, str], locale: str) -> Rendered:
    safe = {k: html.escape(v) for k, v in values.items()}
    if template.html is not None:
        body = template.html.format(**safe)
    else:
        safe["code"] = (
            f'<strong style="font-size:1.5em;letter-spacing:0.15em">{safe["code"]}</strong>'
        )
        paragraphs = [p for p in template.text.split("\n\n") if p.strip()]
        inner = "\n".join(
            "<p>" + html.escape(p, quote=False).replace("\n", "<br>") + "</p>" for p in paragraphs
        )
        body = (
            f'<!doctype html>\n<html lang="{html.escape(locale)}"><body '
            f'style="font-family:sans-serif;line-height:1.5">\n{inner.format(**safe)}\n'
            "</body></html>"
        )
    return Rendered(
        subject=template.subject.format(**values),
        text=template.text.format(**values),
        html=body,
        locale=locale,
    )
