"""Sealing reporters' contacts (AES-GCM) under a key ring that can be rotated.

Intake seals a reporter's name and full phone the moment it accepts a complaint; from
then on every topic, and every store that keeps an event, holds only the sealed blob
beside a masked phone (``shared.events.SealedReporter``). The parties the privacy policy
lets see the contact hold the key ring too: notify (alerts to agencies) and stats (the
callback desk's audited endpoint).

The ring has several keys by id: the current one seals, the others still open what they
sealed, so a key can be rotated without losing the contacts already on the topics.
Each blob binds its key id and its complaint id in as associated data: a blob copied
onto another complaint, or relabelled with another key id, does not open."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.events import Reporter, SealedContact, SealedReporter
from shared.privacy import mask_phone

NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

LEGACY_KEY_ID = "legacy"
DEV_KEY_ID = "dev"
DEV_KEY = hashlib.sha256(b"gongzhi-dev-contact-seal-key-not-for-production").digest()
"""Local, demo and test runs only: production refuses to start without real keys."""


class SealError(ValueError):
    """A sealed contact that cannot be opened: unknown key id, wrong key, or tampered."""


def parse_keys(spec: str) -> dict[str, bytes]:
    """``id:base64,id:base64`` (standard or URL-safe base64 of 32 bytes) as keys by id."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key_id, sep, encoded = part.partition(":")
        if not sep or not KEY_ID.match(key_id):
            raise ValueError(
                "GONGZHI_CONTACT_SEAL_KEYS must be id:base64 entries separated by commas "
                "(ids: letters, digits, - and _)"
            )
        if key_id in keys:
            raise ValueError(f"GONGZHI_CONTACT_SEAL_KEYS names key {key_id!r} twice")
        keys[key_id] = _decode_key(key_id, encoded.strip())
    if not keys:
        raise ValueError("GONGZHI_CONTACT_SEAL_KEYS holds no key")
    return keys


def _decode_key(key_id: str, encoded: str) -> bytes:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        key = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"contact seal key {key_id!r} is not base64") from exc
    if len(key) != KEY_BYTES:
        raise ValueError(f"contact seal key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}")
    return key


def legacy_key(secret: str) -> bytes:
    """The key a single ``GONGZHI_CONTACT_SEAL_KEY`` (any string) stands for."""
    return hashlib.sha256(b"gongzhi contact seal key\0" + secret.encode()).digest()


def _associated_data(key_id: str, complaint_id: str) -> bytes:
    return b"gongzhi-contact\0" + key_id.encode() + b"\0" + complaint_id.encode()


class ContactKeyRing:
    """Seals with the current key; opens with whichever key a blob names."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError(f"the current contact seal key {current!r} is not in the ring")
        self._aeads = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current = current

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._aeads)

    def seal(self, complaint_id: str, reporter: Reporter) -> SealedContact:
        nonce = os.urandom(NONCE_BYTES)
        plain = reporter.model_dump_json(include={"name", "phone"}).encode()
        cipher = self._aeads[self.current].encrypt(
            nonce, plain, _associated_data(self.current, complaint_id)
        )
        return SealedContact(
            key_id=self.current, sealed=base64.urlsafe_b64encode(nonce + cipher).decode()
        )

    def open(self, complaint_id: str, contact: SealedContact) -> Reporter:
        """The name and full phone back (``hide_identity`` is not sealed: it is on the
        event); raises ``SealError`` for an unknown key id, a wrong key or any change."""
        aead = self._aeads.get(contact.key_id)
        if aead is None:
            raise SealError(f"no contact seal key {contact.key_id!r} in the ring")
        try:
            raw = base64.urlsafe_b64decode(contact.sealed)
            plain = aead.decrypt(
                raw[:NONCE_BYTES],
                raw[NONCE_BYTES:],
                _associated_data(contact.key_id, complaint_id),
            )
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise SealError("the sealed contact does not open (tampered, or another key)") from exc
        return Reporter.model_validate_json(plain)

    def open_reporter(self, complaint_id: str, reporter: SealedReporter) -> Reporter | None:
        """The reporter in clear, or None when the event carries no sealed contact."""
        if reporter.contact is None:
            return None
        opened = self.open(complaint_id, reporter.contact)
        return opened.model_copy(update={"hide_identity": reporter.hide_identity})

    def sealed_reporter(self, complaint_id: str, reporter: Reporter) -> SealedReporter:
        """What the topics carry of a reporter: masked phone, the name unless hidden, and
        the contact sealed (none when there is neither a name nor a phone to seal)."""
        has_contact = reporter.name is not None or reporter.phone is not None
        return SealedReporter(
            name=None if reporter.hide_identity else reporter.name,
            masked_phone=None if reporter.phone is None else mask_phone(reporter.phone),
            hide_identity=reporter.hide_identity,
            contact=self.seal(complaint_id, reporter) if has_contact else None,
        )


def dev_key_ring() -> ContactKeyRing:
    return ContactKeyRing({DEV_KEY_ID: DEV_KEY}, DEV_KEY_ID)
