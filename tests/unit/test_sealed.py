"""Sealing at rest: authenticated, versioned, rotatable, and plain text of old rows passes."""

from __future__ import annotations

import pytest

from otpgate.adapters.sql.sealed import PREFIX, Sealer, SealError

OLD, NEW, LOOKUP = b"o" * 32, b"n" * 32, b"l" * 32


def test_a_sealed_value_opens_and_reveals_nothing() -> None:
    sealer = Sealer([NEW], lookup_key=LOOKUP)
    sealed = sealer.seal("+14155550142")
    assert sealed.startswith(sealer.current_prefix) and "4155550142" not in sealed
    assert sealer.seal("+14155550142") != sealed, "a fresh nonce each time"
    assert sealer.open(sealed) == "+14155550142"
    assert sealer.open_json(sealer.seal_json({"given_name": "Jane"})) == {"given_name": "Jane"}


def test_plain_values_of_older_releases_are_read_as_they_are() -> None:
    sealer = Sealer([NEW], lookup_key=LOOKUP)
    assert sealer.open("+14155550142") == "+14155550142"
    assert sealer.open_json('{"given_name": "Jane"}') == {"given_name": "Jane"}


def test_rotation_opens_with_either_key_and_seals_with_the_current() -> None:
    before = Sealer([OLD], lookup_key=LOOKUP)
    during = Sealer([NEW, OLD], lookup_key=LOOKUP)
    after = Sealer([NEW], lookup_key=LOOKUP)
    old = before.seal("jane@example.com")
    assert during.open(old) == "jane@example.com"
    assert not old.startswith(during.current_prefix)
    assert after.open(during.seal("x")) == "x"
    with pytest.raises(SealError):
        after.open(old)
    assert before.lookup("a") == after.lookup("a"), "lookups do not rotate with the data key"


def test_a_tampered_value_is_refused() -> None:
    sealer = Sealer([NEW], lookup_key=LOOKUP)
    sealed = sealer.seal("+14155550142")
    at = len(sealer.current_prefix) + 20  # inside the ciphertext
    flipped = sealed[:at] + ("A" if sealed[at] != "A" else "B") + sealed[at + 1 :]
    with pytest.raises(SealError):
        sealer.open(flipped)
    assert sealed.startswith(PREFIX)
