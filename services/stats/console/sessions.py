"""Console sessions: an opaque random id in the cookie, everything else on the server.

- The cookie holds only the session id (``secrets.token_urlsafe``), HttpOnly and
  SameSite=Strict (Secure in production).
- The store (``console_sessions``) is keyed by an HMAC of the id, so whoever reads the
  database cannot turn a row back into a cookie; the API key the user signed in with
  is kept sealed (AES-GCM, bound to that row), because the console must present it to
  intake for every action, and it never goes back to the browser.
- Every POST form carries an anti-forgery token, an HMAC of the session id (of a
  sign-in nonce for the sign-in form), checked in constant time.
- A session ends at its expiry time, on sign-out, or when its key leaves the key ring.

The codec is pure; ``SessionStore`` is the MongoDB adapter."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from shared.mongo import Document

SESSION_COOKIE = "gongzhi_console"
SIGN_IN_COOKIE = "gongzhi_console_sign_in"
SESSIONS = "console_sessions"
_SEAL_PREFIX = "v1:"
_NONCE_BYTES = 12
NOT_IMPLEMENTED = 238


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode()
    )


class SessionCodec:
    """Turns a session id into its storage id and anti-forgery token, and seals keys."""

    def __init__(self, secret: str) -> None:
        self._id_key = _derive(secret, b"gongzhi console session id")
        self._csrf_key = _derive(secret, b"gongzhi console csrf")
        self._aead = AESGCM(_derive(secret, b"gongzhi console api key"))

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(32)

    def storage_id(self, session_id: str) -> str:
        return hmac.new(self._id_key, session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_token(self, session_id: str, purpose: str = "session") -> str:
        mac = hmac.new(self._csrf_key, f"{purpose}:{session_id}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def csrf_ok(self, session_id: str | None, token: str | None, purpose: str = "session") -> bool:
        if not session_id or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session_id, purpose), token)

    def seal(self, raw_key: str, storage_id: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, raw_key.encode(), storage_id.encode())
        return _SEAL_PREFIX + base64.b64encode(nonce + sealed).decode()

    def unseal(self, sealed: str, storage_id: str) -> str | None:
        """The key back, or None when the seal is not this secret's or not this row's."""
        if not sealed.startswith(_SEAL_PREFIX):
            return None
        raw = base64.b64decode(sealed[len(_SEAL_PREFIX) :])
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], storage_id.encode())
        except InvalidTag:
            return None
        return plain.decode()


@dataclass(frozen=True)
class Session:
    session_id: str
    raw_key: str
    key_name: str
    expires_at: datetime


class SessionStore:
    def __init__(
        self, db: AsyncDatabase[Document], codec: SessionCodec, lifetime: timedelta
    ) -> None:
        self.sessions: AsyncCollection[Document] = db[SESSIONS]
        self.codec = codec
        self.lifetime = lifetime

    async def ensure_indexes(self) -> None:
        # MongoDB removes expired rows itself (a TTL index); FerretDB v1 has no TTL
        # indexes, so there the sweep at each sign-in does it. Reads check the expiry
        # either way: MongoDB's TTL monitor runs once a minute.
        try:
            await self.sessions.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)
        except OperationFailure as exc:
            if exc.code != NOT_IMPLEMENTED:
                raise
            await self.sessions.create_index([("expires_at", ASCENDING)])

    async def open(self, raw_key: str, key_name: str, now: datetime) -> Session:
        session_id = self.codec.new_id()
        storage_id = self.codec.storage_id(session_id)
        expires_at = now + self.lifetime
        await self.sessions.delete_many({"expires_at": {"$lt": now}})
        await self.sessions.insert_one(
            {
                "_id": storage_id,
                "sealed_key": self.codec.seal(raw_key, storage_id),
                "key_name": key_name,
                "created_at": now,
                "expires_at": expires_at,
            }
        )
        return Session(session_id, raw_key, key_name, expires_at)

    async def find(self, session_id: str, now: datetime) -> Session | None:
        storage_id = self.codec.storage_id(session_id)
        doc = await self.sessions.find_one({"_id": storage_id})
        if doc is None:
            return None
        expires_at = _aware(doc["expires_at"], now)
        raw_key = self.codec.unseal(str(doc.get("sealed_key") or ""), storage_id)
        if expires_at <= now or raw_key is None:
            await self.sessions.delete_one({"_id": storage_id})
            return None
        return Session(session_id, raw_key, str(doc.get("key_name") or ""), expires_at)

    async def close(self, session_id: str) -> None:
        await self.sessions.delete_one({"_id": self.codec.storage_id(session_id)})


def _aware(moment: datetime, like: datetime) -> datetime:
    # MongoDB-protocol servers hand datetimes back naive, in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=like.tzinfo)
