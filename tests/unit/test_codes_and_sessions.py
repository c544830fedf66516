from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otpgate.core.codes import Keyring, is_well_formed
from otpgate.core.masking import mask_email, mask_phone
from otpgate.core.model import Policy
from otpgate.core.session import TRANSITIONS, SessionState, can_transition

L = b"l" * 32  # the lookup key


@given(
    st.text(min_size=1, max_size=40),
    st.text(min_size=1, max_size=40),
    st.integers(min_value=4, max_value=10),
)
def test_derived_codes_are_digits_of_the_requested_length(sid: str, nonce: str, n: int) -> None:
    ring = Keyring({"a": b"a" * 32}, current="a", lookup_key=L)
    code = ring.derive("a", sid, nonce, n)
    assert len(code) == n and code.isdigit()
    assert ring.matches("a", sid, nonce, code)


def test_codes_depend_on_the_secret_and_the_nonce() -> None:
    ring = Keyring({"a": b"a" * 32, "b": b"b" * 32}, current="b", lookup_key=L)
    codes = {ring.derive(k, "s", nonce, 10) for k in ("a", "b") for nonce in ("n1", "n2")}
    assert len(codes) == 4


def test_code_digits_are_roughly_uniform() -> None:
    ring = Keyring({"a": b"a" * 32}, current="a", lookup_key=L)
    counts = [0] * 10
    for i in range(5000):
        counts[int(ring.derive("a", "s", str(i), 6)[0])] += 1
    assert min(counts) > 400 and max(counts) < 600


def test_keyring_refuses_short_or_missing_keys() -> None:
    with pytest.raises(ValueError):
        Keyring({"a": b"short"}, current="a", lookup_key=L)
    with pytest.raises(ValueError):
        Keyring({"a": b"a" * 32}, current="b", lookup_key=L)


def test_well_formed_codes() -> None:
    assert is_well_formed("012345", 6)
    assert not is_well_formed("12345", 6)
    assert not is_well_formed("12345x", 6)
    assert not is_well_formed("１２３４５６", 6)


def test_only_pending_sessions_move() -> None:
    for state in SessionState:
        if state is SessionState.PENDING:
            assert TRANSITIONS.moves[state]
        else:
            assert not any(can_transition(state, t) for t in SessionState)


def test_policy_bounds() -> None:
    with pytest.raises(ValueError):
        Policy(code_length=3)
    with pytest.raises(ValueError):
        Policy(code_length=11)


def test_masking() -> None:
    assert mask_phone("+573001234542", "57") == "+57 300 *** ** 42"
    assert mask_phone("+14155550100", "1") == "+1 415 *** ** 00"
    assert mask_email("jane.doe@example.com") == "j***e@example.com"
    assert "0100" not in mask_phone("+14155550100", "1")


def test_a_rotation_keeps_each_session_on_the_secret_it_was_made_under() -> None:
    old, new = b"o" * 32, b"n" * 32
    before = Keyring.rotating([old], lookup_key=L)
    made_under = before.current
    code = before.derive(made_under, "s", "n", 6)
    after = Keyring.rotating([new, old], lookup_key=L)
    assert after.current != made_under
    assert after.matches(made_under, "s", "n", code)
    # ids of older releases name a position: current, then previous
    assert after.derive("env1", "s", "n", 6) == Keyring.rotating([new], lookup_key=L).derive(
        after.current, "s", "n", 6
    )
    assert after.derive("env0", "s", "n", 6) == code


def test_fingerprints_do_not_change_with_the_code_secret() -> None:
    one = Keyring.rotating([b"o" * 32], lookup_key=L)
    two = Keyring.rotating([b"n" * 32, b"o" * 32], lookup_key=L)
    assert one.fingerprint("+14155550100") == two.fingerprint("+14155550100")
    assert one.fingerprint("+14155550100") != Keyring.rotating(
        [b"o" * 32], lookup_key=b"m" * 32
    ).fingerprint("+14155550100")
