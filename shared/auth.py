"""API keys (stored only as SHA-256 hashes, each with scopes and a rate limit) and the
tracking tokens residents get for their own complaint; shared by intake (which takes
submissions and updates) and stats (which shows complaints and figures).

Scopes: ``submit:<source>`` (submit complaints as that source), ``update:<actor_id>``
(post lifecycle updates as that responder, or ``update:resident`` for residents'
ratings; a responder's key also reads the complaints assigned to it), ``read`` (an
operator: reads every complaint), ``admin`` (everything, except opening contacts), and
``contact`` (the callback desk: opens a reporter's sealed contact through stats, each
opening audited; ``services.stats.contact``). ``*`` may stand for any source or actor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.datafile import load_model

ADMIN = "admin"
READ = "read"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: frozenset[str]
    rate_per_second: float | None = None
    burst: int | None = None

    def allows(self, action: str, subject: str | None = None) -> bool:
        """``allows("submit", "hotline-12345")``; ``allows("read")``."""
        if ADMIN in self.scopes:
            return True
        if subject is None:
            return action in self.scopes
        return f"{action}:{subject}" in self.scopes or f"{action}:*" in self.scopes


class _KeyFile(BaseModel):
    keys: list[ApiKey]


class KeyRing:
    """Looks keys up by hash, in constant time per comparison."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._by_hash = {key.sha256: key for key in keys}

    def __len__(self) -> int:
        return len(self._by_hash)

    def identify(self, raw_key: str) -> ApiKey | None:
        digest = hash_key(raw_key)
        for stored, key in self._by_hash.items():
            if hmac.compare_digest(stored, digest):
                return key
        return None

    def holds(self, raw_key: str) -> bool:
        return self.identify(raw_key) is not None


def load_keys(*, keys_json: str | None, keys_file: str | None) -> list[ApiKey]:
    keys: list[ApiKey] = []
    if keys_json:
        keys += TypeAdapter(list[ApiKey]).validate_python(json.loads(keys_json))
    if keys_file:
        keys += load_model(Path(keys_file), _KeyFile).keys
    return keys


def demo_key(raw_key: str) -> ApiKey:
    """The documented local-stack key, with every scope."""
    return ApiKey(name="demo", sha256=hash_key(raw_key), scopes=frozenset({ADMIN}))


DEMO_API_KEY = "gongzhi-demo-key"

DEMO_ROLE_KEYS: dict[str, frozenset[str]] = {
    "gongzhi-demo-operator": frozenset({READ}),
    "gongzhi-demo-pf-dianzhong": frozenset({"update:pf-dianzhong"}),
    "gongzhi-demo-pf-yiyuan": frozenset({"update:pf-yiyuan"}),
    "gongzhi-demo-fire": frozenset({"update:fire"}),
    "gongzhi-demo-cm-xueqiao": frozenset({"update:cm-xueqiao"}),
}
"""The documented local-stack keys of single roles (an operator who only reads, two
property firms, the fire brigade, a community), so the console can be tried as each on
``make up``. Each is named after itself."""


def demo_keys() -> list[ApiKey]:
    return [demo_key(DEMO_API_KEY)] + [
        ApiKey(name=raw, sha256=hash_key(raw), scopes=scopes)
        for raw, scopes in DEMO_ROLE_KEYS.items()
    ]


def build_key_ring(*, keys_json: str | None, keys_file: str | None, environment: str) -> KeyRing:
    """The configured keys; the local stack (no keys configured) takes the demo keys,
    production refuses them."""
    keys = load_keys(keys_json=keys_json, keys_file=keys_file)
    demo_hashes = {k.sha256 for k in demo_keys()}
    if environment == "production" and any(k.sha256 in demo_hashes for k in keys):
        raise ValueError("the demo API keys are not allowed in production")
    if not keys and environment in ("local", "dev", "test"):
        keys = demo_keys()
    return KeyRing(keys)


def responders_of(key: ApiKey) -> set[str] | None:
    """Whose complaints a key may read: None for every complaint (``read``, ``admin``),
    else the responders it may act as (``update:<id>``; ``update:*`` acts as anyone but
    reads nothing it is not assigned: it names no one)."""
    if ADMIN in key.scopes or READ in key.scopes:
        return None
    return {
        scope.removeprefix("update:")
        for scope in key.scopes
        if scope.startswith("update:") and scope not in ("update:*", "update:resident")
    }


def tracking_token(secret: str, complaint_id: str) -> str:
    """What a resident is given with their complaint id: it opens that complaint only."""
    digest = hmac.new(secret.encode(), f"track:{complaint_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def tracking_token_opens(secret: str, complaint_id: str, token: str) -> bool:
    return hmac.compare_digest(tracking_token(secret, complaint_id), token)


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Token buckets per key name. Per process: N intake copies allow N times the rate,
    which is the accepted trade for not putting a shared store on every request."""

    rate_per_second: float
    burst: int
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def try_take(self, key: ApiKey, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds to wait before retrying."""
        now = time.monotonic() if now is None else now
        rate = key.rate_per_second or self.rate_per_second
        burst = key.burst or self.burst
        bucket = self._buckets.setdefault(key.name, _Bucket(float(burst), now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rate
