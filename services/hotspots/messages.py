"""The public events of the detector's changes: ``hotspots.detected`` for an opened hot
spot and ``hotspots.closed`` for a closed one (a join publishes nothing: it raises the
complaint's urgency). Event ids derive from the hot-spot id, so however often a change
is computed again (a redelivery, a replay, a second instance) it is the same event, and
a consumer that drops event ids it has seen alerts once per hot spot."""

from __future__ import annotations

from services.hotspots.changes import Change, Closed, Hotspot, Opened
from services.hotspots.recipients import recipients
from services.routing.policy import RoutingPolicy
from shared.directory import Directory
from shared.events import HotspotClosed, HotspotDetected
from shared.ids import stable_id
from shared.topics import HOTSPOTS_CLOSED, HOTSPOTS_DETECTED


def detected_event_id(hotspot_id: str) -> str:
    return stable_id(HOTSPOTS_DETECTED, hotspot_id)


def closed_event_id(hotspot_id: str) -> str:
    return stable_id(HOTSPOTS_CLOSED, hotspot_id)


def event_for(
    change: Change, policy: RoutingPolicy, directory: Directory
) -> tuple[str, HotspotDetected | HotspotClosed] | None:
    """The topic and event to publish for ``change`` (key: its ``hotspot_id``), or None."""
    if isinstance(change, Opened):
        body = _body(change.hotspot, policy, directory)
        body.update(event_id=detected_event_id(change.hotspot.hotspot_id), occurred_at=change.at)
        return HOTSPOTS_DETECTED, HotspotDetected.model_validate(body)
    if isinstance(change, Closed):
        body = _body(change.hotspot, policy, directory)
        body.update(
            event_id=closed_event_id(change.hotspot.hotspot_id),
            occurred_at=change.at,
            reason=change.reason,
        )
        return HOTSPOTS_CLOSED, HotspotClosed.model_validate(body)
    return None


def _body(hotspot: Hotspot, policy: RoutingPolicy, directory: Directory) -> dict[str, object]:
    known = policy.by_code.get(hotspot.category)
    # A category the policy no longer has is routed as the default one.
    category = known or policy.default
    return {
        "hotspot_id": hotspot.hotspot_id,
        "scope": hotspot.scope,
        "community_id": hotspot.community_id,
        "category": hotspot.category,
        "category_name": known.name if known else None,
        "kind": hotspot.kind,
        "trigger": hotspot.trigger,
        "threshold": hotspot.threshold,
        "within": hotspot.within,
        "opened_at": hotspot.opened_at,
        "window_start": hotspot.window_start,
        "window_end": hotspot.window_end,
        "count": hotspot.count,
        "complaint_ids": hotspot.complaint_ids,
        "places": hotspot.places,
        "complaints": list(hotspot.complaints),
        "alerted": recipients(hotspot, category, directory),
    }
