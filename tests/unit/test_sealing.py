"""The contact key ring: sealing, opening, rotation, and what it refuses."""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import ValidationError

from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from shared.events import Reporter, SealedContact, SealedReporter
from shared.privacy import contains_full_phone
from shared.sealing import ContactKeyRing, SealError, parse_keys
from shared.topics import INGRESS_COMPLAINTS, topic_specs

PHONE = "13812345678"
HIDDEN = Reporter(name="張女士", phone=PHONE, hide_identity=True)


def new_key() -> bytes:
    return os.urandom(32)


def spec(**keys: bytes) -> str:
    return ",".join(f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in keys.items())


def test_a_sealed_contact_holds_neither_name_nor_phone_and_opens_again() -> None:
    ring = ContactKeyRing({"k1": new_key()}, "k1")
    sealed = ring.seal("c-1", HIDDEN)
    assert sealed.key_id == "k1"
    assert not contains_full_phone(sealed.sealed)
    assert "張" not in sealed.sealed
    opened = ring.open("c-1", sealed)
    assert (opened.name, opened.phone) == ("張女士", PHONE)


def test_each_seal_uses_a_fresh_nonce() -> None:
    ring = ContactKeyRing({"k1": new_key()}, "k1")
    assert ring.seal("c-1", HIDDEN).sealed != ring.seal("c-1", HIDDEN).sealed


def test_after_a_rotation_new_contacts_use_the_new_key_and_old_ones_still_open() -> None:
    old, new = new_key(), new_key()
    before = ContactKeyRing({"k1": old}, "k1")
    sealed_before = before.seal("c-1", HIDDEN)
    after = ContactKeyRing({"k1": old, "k2": new}, "k2")
    sealed_after = after.seal("c-2", HIDDEN)
    assert sealed_after.key_id == "k2"
    assert after.open("c-1", sealed_before).phone == PHONE
    assert after.open("c-2", sealed_after).phone == PHONE
    # Once k1 is retired, what it sealed no longer opens; k2's contacts still do.
    retired = ContactKeyRing({"k2": new}, "k2")
    with pytest.raises(SealError, match="no contact seal key 'k1'"):
        retired.open("c-1", sealed_before)
    assert retired.open("c-2", sealed_after).phone == PHONE


def test_a_blob_relabelled_with_another_key_id_or_under_a_wrong_key_does_not_open() -> None:
    key = new_key()
    ring = ContactKeyRing({"k1": key, "k2": key}, "k1")
    sealed = ring.seal("c-1", HIDDEN)
    # Same key material under another id: the key id is bound in, so it still fails.
    with pytest.raises(SealError, match="does not open"):
        ring.open("c-1", sealed.model_copy(update={"key_id": "k2"}))
    impostor = ContactKeyRing({"k1": new_key()}, "k1")
    with pytest.raises(SealError, match="does not open"):
        impostor.open("c-1", sealed)


def test_a_contact_copied_onto_another_complaint_does_not_open() -> None:
    ring = ContactKeyRing({"k1": new_key()}, "k1")
    with pytest.raises(SealError, match="does not open"):
        ring.open("c-2", ring.seal("c-1", HIDDEN))


def test_a_tampered_blob_is_refused() -> None:
    ring = ContactKeyRing({"k1": new_key()}, "k1")
    sealed = ring.seal("c-1", HIDDEN)
    raw = bytearray(base64.urlsafe_b64decode(sealed.sealed))
    for position in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        changed = bytearray(raw)
        changed[position] ^= 0x01
        tampered = SealedContact(key_id="k1", sealed=base64.urlsafe_b64encode(changed).decode())
        with pytest.raises(SealError):
            ring.open("c-1", tampered)
    with pytest.raises(SealError):
        ring.open("c-1", SealedContact(key_id="k1", sealed="not base64!"))
    with pytest.raises(SealError):
        ring.open("c-1", SealedContact(key_id="k1", sealed=sealed.sealed[:20]))


def test_the_sealed_reporter_masks_the_phone_and_drops_a_hidden_name() -> None:
    ring = ContactKeyRing({"k1": new_key()}, "k1")
    hidden = ring.sealed_reporter("c-1", HIDDEN)
    assert (hidden.name, hidden.masked_phone, hidden.hide_identity) == (None, "138****5678", True)
    assert "張" not in hidden.model_dump_json()
    assert PHONE not in hidden.model_dump_json()
    opened = ring.open_reporter("c-1", hidden)
    assert opened == HIDDEN
    shown = ring.sealed_reporter("c-1", HIDDEN.model_copy(update={"hide_identity": False}))
    assert (shown.name, shown.masked_phone) == ("張女士", "138****5678")
    nobody = ring.sealed_reporter("c-1", Reporter(hide_identity=True))
    assert nobody.contact is None
    assert ring.open_reporter("c-1", nobody) is None


def test_key_specs_are_parsed_strictly() -> None:
    key = new_key()
    urlsafe = base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert parse_keys(f"k1:{base64.b64encode(key).decode()}, k2:{urlsafe}") == {
        "k1": key,
        "k2": key,
    }
    for bad, reason in [
        ("k1", "id:base64"),
        ("k 1:AAAA", "id:base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        (f"k1:{urlsafe},k1:{urlsafe}", "twice"),
        ("", "no key"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_keys(bad)


def test_settings_build_the_ring_and_name_the_sealing_key() -> None:
    one, two = new_key(), new_key()
    ring = NotifySettings(contact_seal_keys=spec(k1=one)).contact_key_ring()
    assert (ring.current, ring.key_ids) == ("k1", frozenset({"k1"}))
    ring = NotifySettings(
        contact_seal_keys=spec(k1=one, k2=two), contact_seal_key_id="k2"
    ).contact_key_ring()
    assert (ring.current, ring.key_ids) == ("k2", frozenset({"k1", "k2"}))
    with pytest.raises(ValidationError, match="must name the sealing key"):
        NotifySettings(contact_seal_keys=spec(k1=one, k2=two))
    with pytest.raises(ValidationError, match="'k3' is not in the key ring"):
        NotifySettings(contact_seal_keys=spec(k1=one), contact_seal_key_id="k3")


def test_the_former_single_key_still_works_and_can_be_rotated_away() -> None:
    legacy = NotifySettings(contact_seal_key="an old secret string").contact_key_ring()
    assert legacy.current == "legacy"
    sealed = legacy.seal("c-1", HIDDEN)
    rotated = NotifySettings(
        contact_seal_key="an old secret string",
        contact_seal_keys=spec(k1=new_key()),
        contact_seal_key_id="k1",
    ).contact_key_ring()
    assert rotated.current == "k1"
    assert rotated.open("c-1", sealed).phone == PHONE


def test_production_refuses_to_start_without_seal_keys() -> None:
    with pytest.raises(ValidationError, match="GONGZHI_CONTACT_SEAL_KEYS must be set"):
        NotifySettings(environment="production")
    with pytest.raises(ValidationError, match="GONGZHI_CONTACT_SEAL_KEYS holds an example"):
        NotifySettings(environment="production", contact_seal_keys="k1:change-me")
    keys = '[{"name": "hl", "sha256": "' + "0" * 64 + '", "scopes": ["submit:hl"]}]'
    with pytest.raises(ValidationError, match="GONGZHI_CONTACT_SEAL_KEYS must be set"):
        IntakeSettings(environment="production", api_keys=keys, tracking_secret="s3cr3t-Xy9")
    settings = IntakeSettings(
        environment="production",
        api_keys=keys,
        tracking_secret="s3cr3t-Xy9",
        contact_seal_keys=spec(k1=new_key()),
    )
    assert settings.contact_key_ring().current == "k1"


def test_the_clear_input_on_ingress_complaints_is_kept_one_day_at_most() -> None:
    [spec] = [s for s in topic_specs() if s.name == INGRESS_COMPLAINTS]
    assert 0 < int(spec.config["retention.ms"]) <= 24 * 3600 * 1000


def test_a_schema_1_reporter_still_on_a_topic_is_read_masked() -> None:
    summary = {"name": "張女士", "phone": PHONE, "hide_identity": True}
    reporter = SealedReporter.model_validate(summary)
    assert (reporter.name, reporter.masked_phone, reporter.contact) == (None, "138****5678", None)
    shown = SealedReporter.model_validate(summary | {"hide_identity": False})
    assert shown.name == "張女士"
    assert PHONE not in shown.model_dump_json()
