"""Duplicate detection: a new complaint about the same compound and category as an
open one received within the window, with similar text, is linked to it.

Similarity is the Jaccard index of the two descriptions' character bigrams (after
folding traditional/simplified and dropping punctuation and spaces): Chinese has no
word boundaries, and bigrams are what search engines index Chinese by."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.routing.classify import fold
from services.routing.state import OPEN_STATUSES, ComplaintState


def _bigrams(text: str) -> set[str]:
    chars = "".join(ch for ch in fold(text) if ch.isalnum())
    if len(chars) < 2:
        return {chars} if chars else set()
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


def similarity(a: str, b: str) -> float:
    """Jaccard index of character bigrams, 0.0 (nothing shared) to 1.0 (same)."""
    left, right = _bigrams(a), _bigrams(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def find_duplicate(
    *,
    complaint_id: str,
    compound_id: str,
    category: str,
    description: str,
    received_at: datetime,
    candidates: list[ComplaintState],
    window: timedelta,
    threshold: float,
) -> ComplaintState | None:
    """The most similar open complaint this one duplicates, or None."""
    best: tuple[float, ComplaintState] | None = None
    for other in candidates:
        if (
            other.complaint_id == complaint_id
            or other.status not in OPEN_STATUSES
            or other.duplicate_of is not None
            or other.summary.compound_id != compound_id
            or other.summary.category != category
            or not (received_at - window <= other.received_at <= received_at)
        ):
            continue
        score = similarity(description, other.summary.description)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, other)
    return best[1] if best else None
