"""Seals the reporter's name and phone before a delivery is stored.

A retry needs them (agencies get the full phone), but no stored document may hold a
full phone number in the clear: they are kept encrypted (AES-GCM) under a key every
notify instance shares."""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.events import Reporter

_PREFIX = "v1:"
_NONCE_BYTES = 12


class Sealer:
    def __init__(self, secret: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"gongzhi notify reporter"
        ).derive(secret.encode())
        self._aead = AESGCM(key)

    def seal(self, reporter: Reporter | None) -> str | None:
        if reporter is None:
            return None
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, reporter.model_dump_json().encode(), None)
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def unseal(self, sealed: str | None) -> Reporter | None:
        """The reporter back; a wrong key or a damaged value raises ValueError."""
        if sealed is None:
            return None
        if not sealed.startswith(_PREFIX):
            raise ValueError("unknown seal format")
        raw = base64.b64decode(sealed[len(_PREFIX) :])
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
        except Exception as exc:
            raise ValueError("sealed reporter cannot be opened (wrong seal key?)") from exc
        return Reporter.model_validate_json(plain)
