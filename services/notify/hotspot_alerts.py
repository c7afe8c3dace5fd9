"""What a hot-spot alert says: the facts of one ``hotspots.detected`` laid out for the
templates in ``templates/hotspot/`` and for the webhook body (pure; no I/O).

The complaints are listed with their place and a masked excerpt (the detector masks
phones before the event is written), never with a reporter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.notify.shanghai_time import local_iso, local_time
from shared.directory import Compound, Directory, Responder
from shared.events import HotspotDetected, HotspotKind, HotspotScopeKind, HotspotTrigger

KIND_LABELS = {HotspotKind.CLUSTER: "聚集", HotspotKind.RECURRING: "反復"}
LISTED_COMPLAINTS = 10
"""An alert lists this many complaints; the rest are counted (a chat message is short)."""


def duration_label(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    # People say "24 hours" and "30 days".
    if hours > 48 and hours % 24 == 0:
        return f"{hours // 24}天"
    if hours:
        return f"{hours}小時"
    return f"{int(span.total_seconds() // 60)}分鐘"


def scope_name(event: HotspotDetected, directory: Directory) -> str:
    if event.scope.kind == HotspotScopeKind.COMPOUND:
        compound = directory.compound(event.scope.id)
        return compound.name if compound else event.scope.id
    community = directory.responders_by_id.get(event.scope.id)
    return community.name if community else event.scope.id


def role_of(responder: Responder | None, event: HotspotDetected, directory: Directory) -> str:
    if responder is None:
        return "知悉"
    if responder.id == directory.coordination_responder and event.kind == HotspotKind.RECURRING:
        return "督辦"
    communities = {event.community_id, *(c.community for c in _compounds(event, directory))}
    return "屬地先行處置" if responder.id in communities else "牽頭辦理"


def _compounds(event: HotspotDetected, directory: Directory) -> list[Compound]:
    found = (directory.compound(c.compound_id) for c in event.complaints)
    return [c for c in found if c is not None]


def rule_line(event: HotspotDetected) -> str:
    if event.trigger == HotspotTrigger.REOPENED:
        return f"同一投訴重新打開{event.threshold}次"
    return f"{duration_label(event.within)}內達到{event.threshold}件"


def hotspot_context(
    event: HotspotDetected,
    responder: Responder | None,
    directory: Directory,
    *,
    delivery_id: str,
    link: str,
) -> dict[str, Any]:
    names = {c.id: c.name for c in directory.compounds}
    listed = [
        {
            "complaint_id": c.complaint_id,
            "reported_at": local_time(c.reported_at),
            "compound": names.get(c.compound_id, c.compound_id),
            "place": c.place or "",
            "excerpt": c.excerpt,
            "duplicate_of": c.duplicate_of,
        }
        for c in event.complaints[:LISTED_COMPLAINTS]
    ]
    return {
        "reason": "hotspot",
        "hotspot_id": event.hotspot_id,
        "delivery_id": delivery_id,
        "responder_name": responder.name if responder else None,
        "role": role_of(responder, event, directory),
        "kind": event.kind.value,
        "kind_label": KIND_LABELS[event.kind],
        "category": event.category,
        "category_name": event.category_name or event.category,
        "scope": scope_name(event, directory),
        "count": event.count,
        "rule": rule_line(event),
        "window_start": local_time(event.window_start),
        "window_end": local_time(event.window_end),
        "places": event.places,
        "complaints": listed,
        "unlisted": max(len(event.complaints) - LISTED_COMPLAINTS, 0),
        "link": link,
    }


def hotspot_data(
    event: HotspotDetected, responder: Responder | None, context: dict[str, Any], title: str
) -> dict[str, Any]:
    return {
        "delivery_id": context["delivery_id"],
        "reason": "hotspot",
        "hotspot_id": event.hotspot_id,
        "complaint_id": event.hotspot_id,
        "responder_id": responder.id if responder else None,
        "trigger_event_id": event.event_id,
        "title": title,
        "link": context["link"],
        "hotspot": {
            "kind": event.kind.value,
            "trigger": event.trigger.value,
            "scope": event.scope.model_dump(mode="json"),
            "scope_name": context["scope"],
            "community_id": event.community_id,
            "category": event.category,
            "category_name": context["category_name"],
            "threshold": event.threshold,
            "within_seconds": int(event.within.total_seconds()),
            "opened_at": local_iso(event.opened_at),
            "window_start": local_iso(event.window_start),
            "window_end": local_iso(event.window_end),
            "count": event.count,
            "complaint_ids": event.complaint_ids,
            "places": event.places,
            "complaints": [
                {
                    "complaint_id": c.complaint_id,
                    "compound_id": c.compound_id,
                    "reported_at": local_iso(c.reported_at),
                    "place": c.place,
                    "excerpt": c.excerpt,
                    "duplicate_of": c.duplicate_of,
                }
                for c in event.complaints
            ],
        },
    }
