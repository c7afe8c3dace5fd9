"""What the detector tells its service: a hot spot opened, a complaint joined an open
one, a hot spot closed. Each carries the hot spot as it is after the change."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from shared.events import (
    HotspotCloseReason,
    HotspotComplaint,
    HotspotKind,
    HotspotScope,
    HotspotTrigger,
)
from shared.ids import stable_id


def hotspot_id_for(
    kind: HotspotKind, scope: HotspotScope, category: str, trigger: HotspotTrigger, basis: str
) -> str:
    """The id of a hot spot: fixed by its scope, category, kind and the complaint that
    founded it (a complaint founds at most one hot spot of a scope), so the same signal
    history names the same hot spot, on every instance and after every restart."""
    digest = stable_id("hotspot", kind, scope.kind, scope.id, category, trigger, basis)
    return "hs-" + digest[:23].replace("-", "")


class Hotspot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hotspot_id: str
    kind: HotspotKind
    trigger: HotspotTrigger
    scope: HotspotScope
    community_id: str | None
    category: str
    threshold: int
    within: timedelta
    opened_at: AwareDatetime
    complaints: tuple[HotspotComplaint, ...]
    """In report order (then by id)."""

    @property
    def count(self) -> int:
        return len(self.complaints)

    @property
    def complaint_ids(self) -> list[str]:
        return [c.complaint_id for c in self.complaints]

    @property
    def places(self) -> list[str]:
        """Each place named once, in report order."""
        return list(dict.fromkeys(c.place for c in self.complaints if c.place))

    @property
    def compound_ids(self) -> list[str]:
        return list(dict.fromkeys(c.compound_id for c in self.complaints))

    @property
    def window_start(self) -> datetime:
        return self.complaints[0].reported_at

    @property
    def window_end(self) -> datetime:
        return self.complaints[-1].reported_at


class Opened(BaseModel):
    """A new hot spot: alert its recipients (exactly once per hot spot)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["opened"] = "opened"
    hotspot: Hotspot
    at: AwareDatetime


class Joined(BaseModel):
    """One more complaint in an open hot spot: no new alert, but its urgency rises."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["joined"] = "joined"
    hotspot: Hotspot
    complaint_id: str
    at: AwareDatetime


class Closed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["closed"] = "closed"
    hotspot: Hotspot
    reason: HotspotCloseReason
    at: AwareDatetime
    """When it closed by event time: the instant its window count fell below the
    threshold, or when its last complaint was resolved (not when ``expire`` ran)."""


Change = Opened | Joined | Closed
