"""Webhook signatures: how notify signs a delivery and how a receiver checks it.

``verify_signature`` depends on the standard library only, so a receiver may copy it.
The scheme is described in ``SIGNING.md`` beside this module."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def _digest(secret: str, timestamp: str, body: bytes) -> str:
    signed = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def split_secrets(value: str) -> list[str]:
    """``"new,old"`` → ``["new", "old"]``: two secrets while a secret is being rotated."""
    return [part.strip() for part in value.split(",") if part.strip()]


def signature_header(body: bytes, timestamp: str, secrets: Sequence[str]) -> str:
    """``v1=<hex>`` per secret, comma-separated, newest first."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    return ",".join(f"{SCHEME}={_digest(secret, timestamp, body)}" for secret in secrets)


def verify_signature(
    body: bytes,
    timestamp: str,
    signature: str,
    secrets: str | Sequence[str],
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when one ``v1`` signature in the header matches one of ``secrets`` and the
    timestamp is within ``tolerance_seconds`` of ``now`` (replays are refused).

    ``body`` must be the raw request body, exactly as received."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        return False
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    offered = [
        value.strip()
        for scheme, _, value in (part.strip().partition("=") for part in signature.split(","))
        if scheme == SCHEME
    ]
    return any(
        hmac.compare_digest(_digest(secret, timestamp, body), candidate)
        for secret in candidates
        for candidate in offered
    )
