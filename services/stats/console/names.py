"""What the console calls things: categories as the routing policy names them, and
responders, compounds and communities as the directory does, all in simplified
characters (the console is zh-CN; the data files are written in traditional ones)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import opencc
from pydantic import BaseModel, ConfigDict

from shared.datafile import load_model
from shared.directory import Directory

_TO_SIMPLIFIED = opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def simplified(text: str) -> str:
    return str(_TO_SIMPLIFIED.convert(text))


class _Category(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    code: str
    name: str


class _CategoryNames(BaseModel):
    """Only the part of the policy file the console reads (routing checks the rest)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    categories: list[_Category]


def shipped_policy_path() -> Path:
    return Path(__file__).resolve().parents[2] / "routing" / "data" / "policy.yaml"


def load_category_names(path: str | Path | None) -> dict[str, str]:
    """``code -> name`` in policy order; a broken file raises DataFileError."""
    policy = load_model(Path(path) if path else shipped_policy_path(), _CategoryNames)
    return {c.code: simplified(c.name) for c in policy.categories}


class Names:
    def __init__(self, directory: Directory, categories: dict[str, str]) -> None:
        self.directory = directory
        self.categories = categories

    def category(self, code: str | None) -> str:
        if not code:
            return "未分类"
        return self.categories.get(code, code)

    def responder(self, responder_id: str | None) -> str:
        if not responder_id:
            return "—"
        found = self.directory.responders_by_id.get(responder_id)
        return simplified(found.name) if found else responder_id

    def compound(self, compound_id: str | None) -> str:
        if not compound_id:
            return "—"
        found = self.directory.compounds_by_id.get(compound_id)
        return simplified(found.name) if found else compound_id

    def community(self, community_id: str | None) -> str:
        return self.responder(community_id)
