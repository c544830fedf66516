"""The canonical destination key: variants of one mailbox collapse, and it is idempotent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otpgate.core.canonical import (
    canonical_destination,
    canonical_email,
    canonical_phone,
    phone_prefix,
)
from otpgate.core.model import Destination, DestinationKind

VARIANTS = [
    "victim@example.com",
    "VICTIM@EXAMPLE.COM",
    "Victim@example.com",
    "victim+x@example.com",
    "Victim+promo+2@Example.Com",
    "\uff56ictim@example.com",  # fullwidth ｖ
    "\uff56\uff49\uff43\uff54\uff49\uff4d\uff20\uff45xample.com",  # fullwidth ｖｉｃｔｉｍ＠ｅ
]

GMAIL_VARIANTS = [
    "victim@gmail.com",
    "vic.tim@gmail.com",
    "V.I.C.T.I.M@GMAIL.COM",
    "vic.tim+signup@googlemail.com",
    "\uff56ic.tim@gmail.com",
]


@pytest.mark.parametrize("address", VARIANTS)
def test_variants_of_one_mailbox_collapse(address: str) -> None:
    assert canonical_email(address) == "victim@example.com"


@pytest.mark.parametrize("address", GMAIL_VARIANTS)
def test_dots_are_dropped_only_where_the_provider_ignores_them(address: str) -> None:
    assert canonical_email(address) == "victim@gmail.com"


def test_dots_are_kept_at_other_providers() -> None:
    assert canonical_email("vic.tim@example.com") == "vic.tim@example.com"
    assert canonical_email("vic.tim@example.com") != canonical_email("victim@example.com")


def test_a_bare_plus_local_part_is_kept() -> None:
    assert canonical_email("+tag@example.com") == "+tag@example.com"


def test_destination_keys_for_both_kinds() -> None:
    email = Destination(DestinationKind.EMAIL, "Vic.Tim+x@GoogleMail.com")
    phone = Destination(DestinationKind.PHONE, "+14155550100", "US", "mobile", "1")
    assert canonical_destination(email) == "victim@gmail.com"
    assert canonical_destination(phone) == "+14155550100"
    assert phone_prefix("+14155550100") == "+1415555"


@given(st.text(max_size=40))
def test_canonical_email_is_idempotent(text: str) -> None:
    once = canonical_email(text)
    assert canonical_email(once) == once


local_chars = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


@given(
    local=st.text(local_chars, min_size=1, max_size=20).filter(lambda s: s.strip(".")),
    tag=st.text(local_chars, max_size=10),
    domain=st.sampled_from(["example.com", "gmail.com", "googlemail.com", "Mail.Example.Org"]),
)
def test_case_tags_and_fullwidth_never_make_a_new_key(local: str, tag: str, domain: str) -> None:
    base = canonical_email(f"{local}@{domain}")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in local)
    for variant in (
        f"{local.upper()}@{domain.upper()}",
        f"{local}+{tag}@{domain}",
        f"{fullwidth}@{domain}",
    ):
        assert canonical_email(variant) == base


@given(st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z"))
def test_canonical_phone_is_idempotent_and_keeps_e164(e164: str) -> None:
    assert canonical_phone(e164) == e164
    assert canonical_phone(canonical_phone(e164)) == e164
    assert e164.startswith(phone_prefix(e164))
