"""The published pattern of a stripped text asks for what stripping leaves."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from pydantic import StringConstraints, TypeAdapter, ValidationError

from services.stats.contact import ContactRequest
from shared.events import VISIBLE, ShortText

Stripped = Annotated[str, StringConstraints(strip_whitespace=True)]
STRIP: TypeAdapter[str] = TypeAdapter(Stripped)
SHORT_TEXT: TypeAdapter[str] = TypeAdapter(ShortText)
STRIPPED = [chr(c) for c in range(0x3001) if STRIP.validate_python(f"{chr(c)}a{chr(c)}") == "a"]
AS_ANY_READER_READS_IT = VISIBLE.replace(r"\s", "\t\n\x0b\x0c\r ")
"""The pattern with ``\\s`` read as its ASCII part only: what every regex flavour agrees on.
Readers differ on the rest (ECMA-262, which JSON Schema names, has no U+0085 in ``\\s``,
and schemathesis generated it for ``\\S``), so the pattern must not lean on it."""


def test_pydantic_strips_more_than_ascii_spaces() -> None:
    assert {"\u0085", "\u00a0", "\u3000"} <= set(STRIPPED)


@pytest.mark.parametrize("character", STRIPPED, ids=[f"U+{ord(c):04X}" for c in STRIPPED])
def test_no_character_pydantic_strips_matches_the_pattern(character: str) -> None:
    assert re.search(AS_ANY_READER_READS_IT, character) is None
    with pytest.raises(ValidationError):
        SHORT_TEXT.validate_python(character)


def test_a_text_matching_the_pattern_is_accepted_once_stripped() -> None:
    for text in ["a", " 物業 ", "\u0085x\u3000"]:
        assert re.search(AS_ANY_READER_READS_IT, text) is not None
        assert SHORT_TEXT.validate_python(text) == text.strip("\u0085\u3000 ")


def test_the_contact_reason_pattern_asks_for_three_characters_once_stripped() -> None:
    reason = ContactRequest.model_json_schema()["properties"]["reason"]
    pattern = reason["pattern"].replace(r"\s", "\t\n\x0b\x0c\r ")
    # minLength 3 counts spaces: "7^\n" is 3 long as sent and 2 once stripped
    # (schemathesis sent it and was refused).
    for refused in ["7^\n", "  ab ", "\u0085ab\u3000"]:
        assert re.search(pattern, refused) is None, refused
        with pytest.raises(ValidationError):
            ContactRequest(reason=refused)
    for accepted in ["abc", " 回訪 滿意度 ", "a b"]:
        assert re.search(pattern, accepted) is not None, accepted
        assert ContactRequest(reason=accepted).reason == accepted.strip()
