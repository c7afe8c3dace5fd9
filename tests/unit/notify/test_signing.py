"""Webhook signatures as a receiver checks them."""

from __future__ import annotations

from services.notify.signing import signature_header, split_secrets, verify_signature

BODY = '{"complaint_id":"c-1","title":"【新派單】飛線充電"}'.encode()
NOW = 1_780_000_000


def test_receiver_accepts_a_body_signed_with_its_secret() -> None:
    header = signature_header(BODY, str(NOW), ["s3cret"])
    assert header.startswith("v1=")
    assert verify_signature(BODY, str(NOW), header, "s3cret", now=NOW)


def test_tampered_body_does_not_verify() -> None:
    header = signature_header(BODY, str(NOW), ["s3cret"])
    tampered = BODY.replace(b"c-1", b"c-2")
    assert not verify_signature(tampered, str(NOW), header, "s3cret", now=NOW)


def test_another_timestamp_or_secret_does_not_verify() -> None:
    header = signature_header(BODY, str(NOW), ["s3cret"])
    assert not verify_signature(BODY, str(NOW + 1), header, "s3cret", now=NOW)
    assert not verify_signature(BODY, str(NOW), header, "other", now=NOW)


def test_old_signature_is_refused_as_a_replay() -> None:
    header = signature_header(BODY, str(NOW), ["s3cret"])
    assert not verify_signature(BODY, str(NOW), header, "s3cret", now=NOW + 301)
    assert verify_signature(BODY, str(NOW), header, "s3cret", now=NOW + 299)


def test_during_rotation_receivers_with_either_secret_verify() -> None:
    header = signature_header(BODY, str(NOW), split_secrets("new-secret, old-secret"))
    assert header.count("v1=") == 2
    assert verify_signature(BODY, str(NOW), header, "old-secret", now=NOW)
    assert verify_signature(BODY, str(NOW), header, ["new-secret"], now=NOW)
    assert not verify_signature(BODY, str(NOW), header, "retired-secret", now=NOW)


def test_malformed_headers_do_not_verify() -> None:
    assert not verify_signature(BODY, "yesterday", "v1=00", "s3cret", now=NOW)
    assert not verify_signature(BODY, str(NOW), "", "s3cret", now=NOW)
    digest = signature_header(BODY, str(NOW), ["s3cret"]).removeprefix("v1=")
    assert not verify_signature(BODY, str(NOW), f"v0={digest}", "s3cret", now=NOW)
