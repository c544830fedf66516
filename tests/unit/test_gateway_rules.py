"""The gateway's out-of-band rules, without I/O."""

from __future__ import annotations

import pytest

from otpgate.core.errors import InvalidInput
from otpgate.core.model import Destination, DestinationKind
from otpgate.flows.phonematch.rules import OutOfBandOptions, Screening, personalise, screen


def phone(country: str, line_type: str) -> Destination:
    return Destination(DestinationKind.PHONE, "+10000000000", country, line_type, "1")


def options(**kw: tuple[str, ...]) -> OutOfBandOptions:
    return OutOfBandOptions.checked(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line_type", "excluded", "expected"),
    [
        ("mobile", ("mobile",), Screening.SUPPRESSED),
        ("mobile", ("landline", "voip"), Screening.ALLOWED),
        ("voip", ("VOIP",), Screening.SUPPRESSED),
        ("fixed_or_mobile", ("mobile",), Screening.ALLOWED),
        ("fixed_or_mobile", ("landline",), Screening.ALLOWED),
        ("fixed_or_mobile", ("landline", "mobile"), Screening.SUPPRESSED),
        ("toll_free", ("mobile", "landline", "voip"), Screening.ALLOWED),
        ("unknown", ("mobile", "landline", "voip"), Screening.ALLOWED),
    ],
)
def test_line_type_screening(
    line_type: str, excluded: tuple[str, ...], expected: Screening
) -> None:
    result = screen(phone("US", line_type), options(excluded_line_types=excluded))
    assert result.outcome is expected


def test_country_lists_refuse_before_line_types() -> None:
    opts = options(blacklist=("us",), excluded_line_types=("mobile",))
    assert screen(phone("US", "mobile"), opts).outcome is Screening.COUNTRY_REFUSED
    opts = options(whitelist=("GB", "fr"))
    assert screen(phone("US", "mobile"), opts).outcome is Screening.COUNTRY_REFUSED
    assert screen(phone("FR", "mobile"), opts).allowed


def test_personalise_fills_names_and_leaves_the_pin() -> None:
    assert personalise("Hi {fn} {ln}: {pin}", "Jo", "Li") == "Hi Jo Li: {pin}"
    assert personalise("{pin} only", None, None) == "{pin} only"


def test_names_cannot_smuggle_placeholders() -> None:
    assert personalise("Hi {fn}: {pin}", "{pin}", None) == "Hi pin: {pin}"


def test_a_used_placeholder_needs_its_name() -> None:
    with pytest.raises(InvalidInput) as err:
        personalise("Hi {ln}: {pin}", "Jo", " ")
    assert err.value.field == "target.ln"
