"""The routing policy as data: categories with keywords, lead and support kinds,
urgency, due times, and how sure duplicate linking must be. This module describes
the file's shape and checks it."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.hotspots.policy import HotspotPolicy
from shared.datafile import load_model
from shared.events import ResponderKind, Urgency

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

ASSIGNABLE_KINDS = frozenset(ResponderKind) - {ResponderKind.COORDINATION, ResponderKind.DISPATCH}
"""Kinds a policy may name: the desks are reached through the directory, not the policy."""


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CategoryPolicy(_Entry):
    code: Code
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    keywords: list[Keyword] = []
    lead: ResponderKind
    support: list[ResponderKind] = []
    urgency: Urgency

    @model_validator(mode="after")
    def _kinds_are_assignable(self) -> CategoryPolicy:
        for kind in (self.lead, *self.support):
            if kind not in ASSIGNABLE_KINDS:
                raise ValueError(f"kind {kind.value!r} cannot be named in a policy")
        return self


class DueWindow(_Entry):
    acknowledge_within: timedelta
    resolve_within: timedelta

    @model_validator(mode="after")
    def _positive_and_ordered(self) -> DueWindow:
        if self.acknowledge_within <= timedelta(0):
            raise ValueError("acknowledge_within must be positive")
        if self.resolve_within < self.acknowledge_within:
            raise ValueError("resolve_within must not be shorter than acknowledge_within")
        return self

    def scaled(self, factor: float) -> DueWindow:
        return DueWindow(
            acknowledge_within=self.acknowledge_within * factor,
            resolve_within=self.resolve_within * factor,
        )


WordGroup = Annotated[list[Keyword], Field(min_length=1)]
"""Words a resident may use for one thing; the first one names the group."""

Score = Annotated[float, Field(gt=0, le=1)]


class DuplicatePolicy(_Entry):
    """When a new complaint is linked to an open one (see the ``duplicates:`` section
    of the policy file for what each setting means)."""

    window: timedelta = timedelta(hours=24)
    link_score: Score
    strong_score: Score
    possible_score: Score
    synonyms: list[WordGroup] = []
    faults: list[WordGroup] = []
    subjects: list[WordGroup] = []
    facilities: list[WordGroup] = []
    stop_words: list[Keyword] = []

    @model_validator(mode="after")
    def _ordered_and_unambiguous(self) -> DuplicatePolicy:
        # Imported here: classify imports this module.
        from services.routing.classify import fold

        if self.window <= timedelta(0):
            raise ValueError("window must be positive")
        if not self.possible_score < self.link_score <= self.strong_score:
            raise ValueError("scores must be ordered: possible_score < link_score <= strong_score")
        owner: dict[str, str] = {}
        for section in ("synonyms", "faults", "subjects", "facilities"):
            for index, group in enumerate(getattr(self, section)):
                for word in group:
                    here = f"{section}[{index}] ({group[0]})"
                    folded = fold(word)
                    if folded in owner and owner[folded] != here:
                        raise ValueError(f"{word!r} is in {owner[folded]} and in {here}")
                    owner[folded] = here
        for word in self.stop_words:
            if fold(word) in owner:
                raise ValueError(f"stop word {word!r} is also in {owner[fold(word)]}")
        return self


class RoutingPolicy(_Entry):
    default_category: Code
    duplicates: DuplicatePolicy
    reminder_fraction: float = Field(default=0.75, gt=0, lt=1)
    due: dict[Urgency, DueWindow]
    categories: list[CategoryPolicy] = Field(min_length=1)
    hotspots: HotspotPolicy = HotspotPolicy()

    @model_validator(mode="before")
    @classmethod
    def _no_old_duplicate_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            old = sorted({"duplicate_window", "duplicate_similarity"} & set(data))
            if old:
                raise ValueError(
                    f"{', '.join(old)}: replaced by the duplicates: section "
                    "(window, link_score, strong_score, possible_score, ...)"
                )
        return data

    @model_validator(mode="after")
    def _complete_and_consistent(self) -> RoutingPolicy:
        missing = [u.value for u in Urgency if u not in self.due]
        if missing:
            raise ValueError(f"due: no due times for urgency {', '.join(missing)}")
        codes = [c.code for c in self.categories]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"categories: codes listed twice: {', '.join(twice)}")
        if self.default_category not in codes:
            raise ValueError(f"default_category: {self.default_category!r} is not a category")
        unknown = sorted(set(self.hotspots.overrides) - set(codes))
        if unknown:
            raise ValueError(f"hotspots.overrides: not a category: {', '.join(unknown)}")
        return self

    @property
    def duplicate_window(self) -> timedelta:
        return self.duplicates.window

    @cached_property
    def by_code(self) -> dict[str, CategoryPolicy]:
        return {c.code: c for c in self.categories}

    @property
    def default(self) -> CategoryPolicy:
        return self.by_code[self.default_category]

    def category(self, code: str) -> CategoryPolicy:
        return self.by_code[code]

    def window(self, urgency: Urgency) -> DueWindow:
        return self.due[urgency]

    def with_due_scale(self, factor: float) -> RoutingPolicy:
        """The same policy with every due window multiplied (tests, demos)."""
        if factor == 1:
            return self
        return self.model_copy(update={"due": {u: w.scaled(factor) for u, w in self.due.items()}})


def load_policy(path: str | Path) -> RoutingPolicy:
    """Load and validate the policy file; a broken file raises DataFileError."""
    return load_model(path, RoutingPolicy)
