"""The signature rule receivers copy (webhooks.signing's docstring): v1 is the hex HMAC-SHA256
of "<t>.<raw body>" keyed with the secret; verify refuses a changed body, another secret, an
old or future timestamp, and anything that is not a signature."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from webhooks.signing import sign, signature_header, verify

SECRET = "whsec-for-tests"
BODY = b'{"data":{"case":{"reference":"C202603-00001"}},"id":"e1","type":"case.created"}'
T = 1_772_442_000


def test_the_signature_is_the_documented_hmac_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert sign(SECRET, BODY, T) == f"t={T},v1={expected}"


def test_verify_accepts_what_sign_made_within_the_tolerance():
    header = sign(SECRET, BODY, T)

    assert verify(SECRET, BODY, header, now=T)
    assert verify(SECRET, BODY, header, now=T + 300)
    assert verify(SECRET, BODY, header, now=T - 300)


def test_a_tampered_body_fails():
    header = sign(SECRET, BODY, T)

    assert not verify(SECRET, BODY.replace(b"00001", b"00002"), header, now=T)
    assert not verify(SECRET, BODY + b" ", header, now=T)


def test_another_secret_fails():
    assert not verify("another-secret", BODY, sign(SECRET, BODY, T), now=T)


def test_an_old_or_future_timestamp_fails():
    header = sign(SECRET, BODY, T)

    assert not verify(SECRET, BODY, header, now=T + 301)  # a replay
    assert not verify(SECRET, BODY, header, now=T - 301)
    assert not verify(SECRET, BODY, header, tolerance=60, now=T + 61)


def test_a_timestamp_moved_forward_by_a_replayer_fails():
    v1 = sign(SECRET, BODY, T).split(",")[1]

    assert not verify(SECRET, BODY, f"t={T + 600},{v1}", now=T + 600)


@pytest.mark.parametrize(
    "header",
    ["", "garbage", f"t={T}", "v1=abc", f"t=soon,v1={'0' * 64}", f"t={T},v1=", f"t={T},v1=é"],
)
def test_what_is_not_a_signature_fails(header):
    assert not verify(SECRET, BODY, header, now=T)


def test_after_a_rotation_either_secret_verifies():
    header = signature_header(["new-secret", "old-secret"], BODY, T)

    assert header.count("v1=") == 2
    assert verify("new-secret", BODY, header, now=T)
    assert verify("old-secret", BODY, header, now=T)
    assert not verify("third-secret", BODY, header, now=T)
