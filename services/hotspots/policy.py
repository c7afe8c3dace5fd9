"""The hot-spot policy (未訴先辦) as data: cluster thresholds per scope and category,
the recurrence rule, and how much faster the lead must acknowledge a complaint that
is part of an open hot spot.

It is the ``hotspots:`` section of the routing policy file; the routing policy checks
that every category named here exists."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

CategoryCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Threshold(_Entry):
    """``count`` complaints within ``within`` open a hot spot."""

    count: int = Field(ge=2, description="one complaint is not a pattern: at least 2")
    within: timedelta

    @model_validator(mode="after")
    def _window_is_positive(self) -> Threshold:
        if self.within <= timedelta(0):
            raise ValueError("within must be a positive duration")
        return self


class CommunityThreshold(Threshold):
    min_compounds: int = Field(default=2, ge=1)
    """A community hot spot is a problem across compounds: complaints from one compound
    alone are that compound's hot spot, not the community's."""

    @model_validator(mode="after")
    def _enough_complaints_for_the_compounds(self) -> CommunityThreshold:
        if self.min_compounds > self.count:
            raise ValueError(
                f"min_compounds ({self.min_compounds}) cannot exceed count ({self.count})"
            )
        return self


class ClusterThresholds(_Entry):
    compound: Threshold = Threshold(count=3, within=timedelta(hours=24))
    community: CommunityThreshold = CommunityThreshold(count=6, within=timedelta(hours=24))


class ClusterOverride(_Entry):
    """A category's own thresholds; a scope left out keeps the default."""

    compound: Threshold | None = None
    community: CommunityThreshold | None = None

    @model_validator(mode="after")
    def _overrides_something(self) -> ClusterOverride:
        if self.compound is None and self.community is None:
            raise ValueError("an override must set compound, community or both")
        return self


class Recurrence(_Entry):
    """The same compound × category ``count`` times within ``within``, spread over at
    least ``min_span``, or one complaint reopened ``reopened`` times, opens a recurring
    hot spot."""

    count: int = Field(default=3, ge=2)
    within: timedelta = timedelta(days=30)
    min_span: timedelta = timedelta(hours=24)
    """Coming back takes time: three complaints in one afternoon are a cluster."""
    reopened: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _windows_fit(self) -> Recurrence:
        if self.within <= timedelta(0):
            raise ValueError("within must be a positive duration")
        if not timedelta(0) <= self.min_span < self.within:
            raise ValueError("min_span must be at least zero and shorter than within")
        return self


class HotspotPolicy(_Entry):
    cluster: ClusterThresholds = ClusterThresholds()
    overrides: dict[CategoryCode, ClusterOverride] = {}
    """Per-category cluster thresholds, keyed by category code."""
    recurrence: Recurrence = Recurrence()
    acknowledge_factor: float = Field(default=0.5, gt=0, le=1)
    """The lead's acknowledge window is multiplied by this while the complaint is in an
    open hot spot."""

    def compound_threshold(self, category: str) -> Threshold:
        override = self.overrides.get(category)
        if override is not None and override.compound is not None:
            return override.compound
        return self.cluster.compound

    def community_threshold(self, category: str) -> CommunityThreshold:
        override = self.overrides.get(category)
        if override is not None and override.community is not None:
            return override.community
        return self.cluster.community

    @property
    def longest_window(self) -> timedelta:
        """How far back any rule looks: signals older than this can no longer count."""
        windows = [self.cluster.compound.within, self.cluster.community.within]
        for override in self.overrides.values():
            windows += [t.within for t in (override.compound, override.community) if t]
        return max([*windows, self.recurrence.within])

    def raised_acknowledge_by(self, routed_at: datetime, acknowledge_by: datetime) -> datetime:
        """The acknowledge due time of a complaint in an open hot spot: its window,
        counted from when it was routed, shortened by ``acknowledge_factor``."""
        return routed_at + (acknowledge_by - routed_at) * self.acknowledge_factor
