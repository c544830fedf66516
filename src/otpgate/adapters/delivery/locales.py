"""Which language a phone number's country most likely reads.

Only countries with one clearly dominant language are listed; for the others
(Canada, Belgium, Switzerland, India, …) the tenant's default locale decides.
"""

from __future__ import annotations

_LANGUAGES: dict[str, str] = {
    "en": "US GB IE AU NZ JM TT BS BB GH NG KE ZA",
    "es": "ES MX AR CO CL PE VE EC GT CU BO DO HN PY SV NI CR PA UY PR GQ",
    "fr": "FR MC LU SN CI ML BF NE GN BJ TG GA CG",
    "de": "DE AT LI",
    "pt-br": "BR",
    "pt": "PT AO MZ CV GW ST",
    "it": "IT SM VA",
    "nl": "NL SR",
    "pl": "PL",
    "tr": "TR",
    "ja": "JP",
    "ko": "KR",
}

COUNTRY_LOCALE: dict[str, str] = {
    country: language for language, countries in _LANGUAGES.items() for country in countries.split()
}


def locale_for_country(country: str | None) -> str | None:
    """``"MX"`` → ``"es"``; ``None`` when the country has no single obvious language."""
    return COUNTRY_LOCALE.get(country.upper()) if country else None
