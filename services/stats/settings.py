"""Stats' settings, from the environment (``GONGZHI_*``)."""

from __future__ import annotations

from datetime import tzinfo

from pydantic import Field

from services.stats.periods import zone
from shared.settings import ContactSealSettings, KeyedSettings


class StatsSettings(ContactSealSettings, KeyedSettings):
    http_port: int = 8083
    timezone: str = "Asia/Shanghai"
    """Days and months of the figures are the city's local calendar days."""
    snapshot_interval_seconds: float = Field(default=2.0, gt=0)
    """At most one snapshot per scope per interval: bursts of events coalesce."""
    snapshot_poll_seconds: float = Field(default=0.25, gt=0)
    public_figures: bool | None = None
    """Whether ``/v1/stats``, ``/v1/scopes/…`` and ``/dashboard`` answer without a key
    (counts and rates only, no complaint's details). Unset: yes, except in production,
    where they need a key with the ``read`` scope."""
    batch_max_records: int = Field(default=500, ge=1)
    """Records consumed per batch: each complaint's document is written once per batch
    and the scopes they touch are marked dirty once."""

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    @property
    def figures_are_public(self) -> bool:
        if self.public_figures is None:
            return self.environment != "production"
        return self.public_figures
