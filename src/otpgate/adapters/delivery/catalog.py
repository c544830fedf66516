"""Message templates as data: built-in locales, and per-tenant overrides from a YAML file.

Built-in templates live in ``delivery/templates/<locale>.yaml``. Operators override them
per tenant (by tenant name), per locale and per channel in ``OTPGATE_TEMPLATES_FILE``::

    tenants:
      acme:                          # the tenant's name (``otpgate keys create --tenant``)
        autofill_domain: acme.example  # opt-in: SMS ends with "@acme.example #123456"
        templates:
          en:
            sms: "{code} is your Acme code ({minutes} min)."
            voice: "Your Acme code is {spoken_code}. Again: {spoken_code}."
            email:
              subject: "Your Acme code"
              text: "Your code is {code}. It expires in {minutes} minutes."
              html: "<p>Your code is <b>{code}</b>.</p>"   # optional
          es-MX:
            sms: "{code} es tu código de Acme."

Placeholders are ``{code}``, ``{brand}``, ``{minutes}`` and ``{spoken_code}`` (the digits
read one by one). Anything else is refused when the file is loaded, at start-up.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PLACEHOLDERS = frozenset({"code", "brand", "minutes", "spoken_code"})
BUILTIN_LOCALES = ("en", "es", "fr", "de", "pt")
_CHANNELS = ("sms", "voice", "email")
_LOCALE_KEYS = frozenset({*_CHANNELS, "voice_language"})


class TemplateError(ValueError):
    """A template file or template text is not acceptable; the message says where and why."""


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True, slots=True)
class LocaleTemplates:
    sms: str | None = None
    voice: str | None = None
    email: EmailTemplate | None = None
    voice_language: str | None = None


@dataclass(frozen=True, slots=True)
class TenantTemplates:
    locales: dict[str, LocaleTemplates] = field(default_factory=dict)
    autofill_domain: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateBook:
    builtin: dict[str, LocaleTemplates]
    tenants: dict[str, TenantTemplates] = field(default_factory=dict)


def normalise_locale(raw: str) -> str:
    """``pt_BR`` → ``pt-br``: the form locale keys are compared in."""
    return raw.strip().replace("_", "-").lower()


def check_template(text: object, where: str) -> str:
    """The template text if every placeholder in it is known; TemplateError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise TemplateError(f"{where}: a template must be non-empty text")
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"{where}: {exc} (write {{{{ and }}}} for literal braces)") from exc
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            raise TemplateError(f"{where}: unknown placeholder {{{name}}}; use one of {known}")
        if spec or conversion:
            raise TemplateError(f"{where}: placeholder {{{name}}} takes no format or conversion")
    return text


def _locale_templates(raw: object, where: str) -> LocaleTemplates:
    if not isinstance(raw, Mapping):
        raise TemplateError(f"{where}: expected a mapping of channel to template")
    unknown = set(raw) - _LOCALE_KEYS
    if unknown:
        raise TemplateError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"expected {', '.join(sorted(_LOCALE_KEYS))}"
        )
    email = None
    if raw.get("email") is not None:
        mail = raw["email"]
        if not isinstance(mail, Mapping) or "subject" not in mail or "text" not in mail:
            raise TemplateError(f"{where}.email: needs 'subject' and 'text' (and optional 'html')")
        extra = set(mail) - {"subject", "text", "html"}
        if extra:
            raise TemplateError(f"{where}.email: unknown key(s) {', '.join(sorted(extra))}")
        email = EmailTemplate(
            subject=check_template(mail["subject"], f"{where}.email.subject"),
            text=check_template(mail["text"], f"{where}.email.text"),
            html=check_template(mail["html"], f"{where}.email.html") if mail.get("html") else None,
        )
    sms, voice, language = raw.get("sms"), raw.get("voice"), raw.get("voice_language")
    return LocaleTemplates(
        sms=check_template(sms, f"{where}.sms") if sms is not None else None,
        voice=check_template(voice, f"{where}.voice") if voice is not None else None,
        email=email,
        voice_language=str(language) if language else None,
    )


def load_builtin() -> dict[str, LocaleTemplates]:
    folder = resources.files("otpgate.adapters.delivery") / "templates"
    builtin = {}
    for locale in BUILTIN_LOCALES:
        raw = yaml.safe_load((folder / f"{locale}.yaml").read_text(encoding="utf-8"))
        builtin[locale] = _locale_templates(raw, f"built-in {locale}")
    return builtin


def parse_tenant_file(raw: Any, source: str) -> dict[str, TenantTemplates]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or set(raw) - {"tenants"}:
        raise TemplateError(f"{source}: expected one top-level key, 'tenants'")
    tenants = raw.get("tenants") or {}
    if not isinstance(tenants, Mapping):
        raise TemplateError(f"{source}: 'tenants' must map tenant names to their templates")
    parsed = {}
    for name, entry in tenants.items():
        where = f"{source}: tenants.{name}"
        if not isinstance(entry, Mapping) or set(entry) - {"templates", "autofill_domain"}:
            raise TemplateError(f"{where}: expected keys 'templates' and/or 'autofill_domain'")
        locales = entry.get("templates") or {}
        if not isinstance(locales, Mapping):
            raise TemplateError(f"{where}.templates: expected a mapping of locale to templates")
        domain = entry.get("autofill_domain")
        if domain is not None and (not isinstance(domain, str) or not _is_domain(domain)):
            raise TemplateError(f"{where}.autofill_domain: {domain!r} is not a domain name")
        parsed[str(name)] = TenantTemplates(
            locales={
                normalise_locale(str(loc)): _locale_templates(t, f"{where}.templates.{loc}")
                for loc, t in locales.items()
            },
            autofill_domain=domain,
        )
    return parsed


def _is_domain(value: str) -> bool:
    labels = value.split(".")
    return len(labels) >= 2 and all(
        label and len(label) <= 63 and all(c.isalnum() or c == "-" for c in label)
        for label in labels
    )


def load_book(path: str | None = None) -> TemplateBook:
    """The built-in templates plus the operator's file, all validated now."""
    tenants: dict[str, TenantTemplates] = {}
    if path:
        file = Path(path)
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TemplateError(f"OTPGATE_TEMPLATES_FILE {path}: cannot read it ({exc})") from exc
        except yaml.YAMLError as exc:
            raise TemplateError(f"OTPGATE_TEMPLATES_FILE {path}: not valid YAML ({exc})") from exc
        tenants = parse_tenant_file(raw, path)
    return TemplateBook(builtin=load_builtin(), tenants=tenants)
