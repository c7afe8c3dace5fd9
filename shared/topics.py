"""Kafka topic names (the public contract) and how each topic is created."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

INGRESS_COMPLAINTS = "ingress.complaints"
"""Outside systems' own submissions, reporters' contacts in clear (intake seals them
only in what it writes): kept no longer than ``INGRESS_COMPLAINTS_RETENTION_HOURS``."""
INGRESS_UPDATES = "ingress.updates"
COMPLAINTS_RECEIVED = "complaints.received"
COMPLAINTS_REJECTED = "complaints.rejected"
COMPLAINTS_ROUTED = "complaints.routed"
COMPLAINTS_UPDATED = "complaints.updated"
COMPLAINTS_ESCALATED = "complaints.escalated"
COMPLAINTS_REMINDED = "complaints.reminded"
NOTIFICATIONS_SENT = "notifications.sent"
NOTIFICATIONS_FAILED = "notifications.failed"
STATS_SNAPSHOTS = "stats.snapshots"
ROUTING_REPLIES = "routing.replies"
"""Internal: routing's answers to the updates intake forwards (key = request id)."""
HOTSPOTS_SIGNALS = "hotspots.signals"
"""Internal: what the hot-spot detector learns of complaints (key = community)."""
ROUTING_COMMANDS = "routing.commands"
"""Internal: what one routing owner asks of the owner of another complaint (a duplicate
link to remember, a resolution to follow), keyed by the complaint acted on."""
STATS_CHANGED = "stats.changed"
"""Internal: a scope whose figures changed, for the one stats instance that publishes
its snapshot (key = scope)."""
HOTSPOTS_DETECTED = "hotspots.detected"
HOTSPOTS_CLOSED = "hotspots.closed"


def responder_updates_topic(responder_id: str) -> str:
    """The update topic of one responder's own system (``ingress.updates.<responder id>``).

    Kafka ACLs see topics, not messages: only that responder's principal may write here,
    so an update read from it can be trusted to come from that responder."""
    return f"{INGRESS_UPDATES}.{responder_id}"


def dead_letter_topic(service: str) -> str:
    """The dead-letter topic of one service (``dlq.<service>``)."""
    return f"dlq.{service}"


SERVICES = ("intake", "routing", "notify", "stats")

INGRESS_COMPLAINTS_RETENTION_HOURS = 24
"""Intake reads ingress.complaints within seconds; a day covers an intake outage (watch
its consumer lag) and bounds how long clear contacts sit on the broker."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 4
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(partitions: int = 4, responder_systems: Iterable[str] = ()) -> list[TopicSpec]:
    """Every topic the system uses, with the settings it needs at creation, and the update
    topic of each responder whose system posts updates over Kafka."""
    plain = [
        INGRESS_UPDATES,
        COMPLAINTS_RECEIVED,
        COMPLAINTS_REJECTED,
        COMPLAINTS_ROUTED,
        COMPLAINTS_UPDATED,
        COMPLAINTS_ESCALATED,
        COMPLAINTS_REMINDED,
        NOTIFICATIONS_SENT,
        NOTIFICATIONS_FAILED,
        HOTSPOTS_DETECTED,
        HOTSPOTS_CLOSED,
        ROUTING_COMMANDS,
        *(dead_letter_topic(s) for s in SERVICES),
    ]
    specs = [TopicSpec(name, partitions) for name in plain]
    # Clear contacts as outside systems wrote them: kept only as long as intake needs.
    specs.insert(
        0,
        TopicSpec(
            INGRESS_COMPLAINTS,
            partitions,
            {"retention.ms": str(INGRESS_COMPLAINTS_RETENTION_HOURS * 3600 * 1000)},
        ),
    )
    # Operators read the latest figure per scope; compaction keeps exactly that.
    specs.append(
        TopicSpec(
            STATS_SNAPSHOTS,
            partitions,
            {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
        )
    )
    # The detector rebuilds its state from every signal of its partitions.
    specs.append(TopicSpec(HOTSPOTS_SIGNALS, partitions, {"retention.ms": "-1"}))
    # Answers and change notices are read within seconds; an hour of them is plenty.
    for internal in (ROUTING_REPLIES, STATS_CHANGED):
        specs.append(TopicSpec(internal, partitions, {"retention.ms": str(3600 * 1000)}))
    # As many partitions as ingress.updates, keyed by complaint id too: routing's range
    # assignment then hands partition i of every update topic to the owner of those
    # complaints.
    specs.extend(
        TopicSpec(responder_updates_topic(responder), partitions) for responder in responder_systems
    )
    return specs
