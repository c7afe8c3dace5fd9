"""Deterministic identifiers: the same input always yields the same id, so a
redelivered message re-publishes the same event and consumers can drop it."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("4f1c0a7e-9d6b-5c1e-8a2f-67f0c0a1e5d3")


def stable_id(*parts: object) -> str:
    """A UUID derived from ``parts``; equal parts give equal ids."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def complaint_id_for(source: str, source_ref: str) -> str:
    """The complaint id of a submission: fixed by where it came from, so a resend
    of the same ``(source, source_ref)`` names the same complaint."""
    return "c-" + stable_id("complaint", source, source_ref)[:23].replace("-", "")
