"""The shapes the OpenAPI document states are the ones the server accepts.

For each rule the document states from a pattern next to a check in code, values drawn
from the pattern pass the check (the document promises nothing the server refuses), and
the values the check refuses do not match.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.formats import get_default_format_strategies

from otpgate.core.errors import InvalidInput
from otpgate.destinations import parse_email
from otpgate.flows.phonematch.rules import MAX_MESSAGE, check_template
from otpgate.web.evaluation.schemas import TIMESTAMP
from otpgate.web.phonematch.schemas import TEMPLATE
from otpgate.web.wire import EMAIL

EMAILS = re.compile(EMAIL)
QUICK = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@QUICK
@given(get_default_format_strategies()["email"].filter(EMAILS.match))
def test_schemathesis_emails_the_pattern_admits_pass_email_validator(address: str) -> None:
    assert parse_email(address).value


@pytest.mark.parametrize(
    "address", ["ana@example.test", "ana@host.LOCAL", "ana@x.onion", "ana@example", "a..b@x.co"]
)
def test_emails_email_validator_refuses_do_not_match(address: str) -> None:
    with pytest.raises(InvalidInput):
        parse_email(address)
    assert not EMAILS.match(address)


def test_a_timestamp_date_is_a_calendar_date() -> None:
    day, checked = dt.date(1896, 1, 1), 0
    for year in range(1896, 2105):
        for month in range(1, 13):
            for d in range(1, 32):
                text = f"{year:04d}-{month:02d}-{d:02d}"
                try:
                    real = dt.date(year, month, d) >= day
                except ValueError:
                    real = False
                assert bool(TIMESTAMP.match(text)) is real, text
                checked += 1
    assert checked > 70_000


@pytest.mark.parametrize(
    "value",
    [
        "2025-09-30T10:07:00Z",
        "2025-09-30t10:07:00.123456789+05:30",
        "2025-09-30 10:07",
        "2025-09-30",
    ],
)
def test_timestamps_otpgate_takes(value: str) -> None:
    assert TIMESTAMP.match(value)


@pytest.mark.parametrize(
    "value", ["yesterday", "2025-09-30T25:00:00Z", "2025-09-30T10:07:00+0530x", "1727690400", ""]
)
def test_timestamps_otpgate_refuses(value: str) -> None:
    assert not TIMESTAMP.match(value)


@QUICK
@given(st.from_regex(TEMPLATE, fullmatch=True).filter(lambda m: len(m) <= MAX_MESSAGE))
def test_a_message_template_the_pattern_admits_passes_the_gateways_check(message: str) -> None:
    check_template(message)


@pytest.mark.parametrize("message", ["no code", "{first} {pin}", "{pin} {", "   "])
def test_templates_the_gateway_refuses_do_not_match(message: str) -> None:
    with pytest.raises(InvalidInput):
        check_template(message)
    assert not re.match(TEMPLATE, message)
