"""Which category a complaint belongs to: the one it came with, or the first policy
category (top to bottom) with a keyword found in its description."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import opencc

from services.routing.policy import CategoryPolicy, RoutingPolicy

CategorySource = Literal["given", "classified", "default"]

# A pinyin reading written after a character, e.g. "業(yè)": an annotation, not text.
_READING = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")
_TO_SIMPLIFIED = opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Text reduced to what matching compares: simplified characters, lower case, no
    reading annotations. Residents write simplified or traditional characters and the
    policy may use either; both must meet."""
    return str(_TO_SIMPLIFIED.convert(_READING.sub("", text))).lower()


@dataclass(frozen=True)
class Classification:
    category: CategoryPolicy
    source: CategorySource
    matched_keyword: str | None = None


def classify(policy: RoutingPolicy, given: str | None, description: str) -> Classification:
    """An explicit, known category wins unless it is the default one (``other``),
    which only means "the sender did not know": then the keywords decide."""
    if given and given in policy.by_code and given != policy.default_category:
        return Classification(policy.category(given), "given")
    text = fold(description)
    for category in policy.categories:
        if category.code == policy.default_category:
            continue
        for keyword in category.keywords:
            if fold(keyword) in text:
                return Classification(category, "classified", keyword)
    return Classification(policy.default, "default")
