"""Due times: when a responder must acknowledge and resolve, and when to remind."""

from __future__ import annotations

from datetime import datetime

from services.routing.policy import DueWindow
from shared.events import DueTimes


def due_times(window: DueWindow, start: datetime) -> DueTimes:
    return DueTimes(
        acknowledge_by=start + window.acknowledge_within,
        resolve_by=start + window.resolve_within,
    )


def reminder_at(routed_at: datetime, acknowledge_by: datetime, fraction: float) -> datetime:
    """The moment ``fraction`` of the acknowledge window has passed."""
    return routed_at + (acknowledge_by - routed_at) * fraction


def second_acknowledge_breach_at(routed_at: datetime, acknowledge_by: datetime) -> datetime:
    """Level 2: still silent one more acknowledge window after the due time."""
    return acknowledge_by + (acknowledge_by - routed_at)
