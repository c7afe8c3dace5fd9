"""Phone masking: no log line, dead letter or stored figure may hold a full phone number."""

from __future__ import annotations

import re

# Mainland mobile numbers (1[3-9]x, 11 digits), optionally +86/86-prefixed, and
# landlines with an area code; digits must not be part of a longer number.
_MOBILE = r"(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})"
_PHONE = re.compile(rf"(?<!\d){_MOBILE}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?(\d{3,4})(\d{4})(?!\d)")


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``; anything short keeps only its last 2 digits."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 11:
        digits = digits[-11:]
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def scrub_phones(text: str) -> str:
    """Mask every phone number inside free text."""
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


_PHONE_ALONE = re.compile(rf"(?<![0-9A-Za-z]){_MOBILE}(?![0-9A-Za-z])")
"""A mobile number standing alone: not digits inside an id (a Kafka member id's UUID
holds ``f15512345678`` often enough to fail a chaos run's log scan)."""


def contains_full_phone(text: str) -> bool:
    """True when ``text`` still holds an unmasked mobile number (used by log and topic
    scans). Masking (``scrub_phones``) stays wider: it masks such digits inside ids too."""
    return _PHONE_ALONE.search(text) is not None
