"""Who may do what on Kafka: for each principal, the topics it writes, the topics it reads
in its consumer group and without one, and the groups it joins.

The one source for the ACLs kafka-init creates (``devtools/create_topics.py``), for the
Kafka table of the README's Security section and for the tests that prove the broker
refuses everything else. Names are the public ones of ``shared/topics.py``; a
deployment's ``KAFKA_TOPIC_PREFIX`` goes in front of topics and groups alike when the
ACLs are made.

Besides the services, outside systems have principals of their own, listed by the
operator in a file (``deploy/config/kafka-systems.yaml``): a *source* (a hotline, an
app) may write ``ingress.complaints``; a *responder's system* may write only its own
``ingress.updates.<responder id>``, because ACLs see topics, not messages, and routing
can then refuse an update in which the system speaks for another responder; a *reader*
may read exactly the topics listed for it. None of them may read anything else: every
``complaints.*`` topic carries every complaint, whoever sent it and whoever leads it.

``python -m shared.access`` prints the README's table."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from shared.datafile import load_model
from shared.topics import (
    COMPLAINTS_ESCALATED,
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_REMINDED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    HOTSPOTS_CLOSED,
    HOTSPOTS_DETECTED,
    HOTSPOTS_SIGNALS,
    INGRESS_COMPLAINTS,
    INGRESS_UPDATES,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_SENT,
    ROUTING_COMMANDS,
    ROUTING_REPLIES,
    SERVICES,
    STATS_CHANGED,
    STATS_SNAPSHOTS,
    dead_letter_topic,
    responder_updates_topic,
    topic_specs,
)

ADMIN = "admin"
"""The super user: the broker itself, kafka-init and operators' tools. It needs no ACL."""

SERVICE_GROUPS: dict[str, str] = {
    "intake": "gongzhi-intake",
    "routing": "gongzhi-routing",
    "notify": "gongzhi-notify",
    "stats": "gongzhi-stats",
}
"""Each service's consumer group (``GROUP_ID`` in ``services/<name>/app.py``)."""
HOTSPOT_GROUP = "gongzhi-hotspots"
"""Routing's hot-spot stage: its group, and the stem of its transactional ids."""

RESERVED_PREFIX = "gongzhi-"
"""Group names of Gongzhi itself (the services, the dead-letter replayer): no outside
system's principal, and so no outside system's group, may start with it."""

COMPLAINT_TOPICS = (
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    COMPLAINTS_ESCALATED,
    COMPLAINTS_REMINDED,
)
NOTIFICATION_TOPICS = (NOTIFICATIONS_SENT, NOTIFICATIONS_FAILED)
HOTSPOT_TOPICS = (HOTSPOTS_DETECTED, HOTSPOTS_CLOSED)
"""Written by routing's hot-spot stage in Kafka transactions, read by notify and stats."""


@dataclass(frozen=True)
class Grant:
    """What one principal may do. Reading in a group needs the group too; reading without
    one (every partition, ``shared/tail.py``) needs the topic only."""

    principal: str
    does: str
    writes: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    """Topics read in its consumer group (``groups``)."""
    follows: tuple[str, ...] = ()
    """Topics read without a group."""
    groups: tuple[str, ...] = ()
    transactions: tuple[str, ...] = ()
    """Kafka transactions it runs: the stem of its transactional ids, one per partition
    (``<stem>-<partition>``, see ``services/routing/hotspot_stage.py``)."""
    super_user: bool = False
    """Allowed everything by the broker (``super.users``): the lists only document its use."""

    @property
    def topics(self) -> frozenset[str]:
        return frozenset((*self.writes, *self.reads, *self.follows))


def service_grants(responder_systems: Sequence[str] = ()) -> tuple[Grant, ...]:
    """The four services; routing also reads the update topic of each responder system."""
    return (
        Grant(
            "intake",
            "accepts complaints and updates from outside systems and HTTP callers",
            writes=(
                COMPLAINTS_RECEIVED,
                COMPLAINTS_REJECTED,
                INGRESS_UPDATES,
                dead_letter_topic("intake"),
            ),
            reads=(INGRESS_COMPLAINTS,),
            follows=(ROUTING_REPLIES,),
            groups=(SERVICE_GROUPS["intake"],),
        ),
        Grant(
            "routing",
            "routes complaints and owns their lifecycle",
            writes=(
                COMPLAINTS_ROUTED,
                COMPLAINTS_UPDATED,
                COMPLAINTS_ESCALATED,
                COMPLAINTS_REMINDED,
                COMPLAINTS_REJECTED,
                ROUTING_REPLIES,
                ROUTING_COMMANDS,
                HOTSPOTS_SIGNALS,
                # Updates that reached the wrong owner go back, re-keyed.
                INGRESS_UPDATES,
                *HOTSPOT_TOPICS,
                dead_letter_topic("routing"),
            ),
            reads=(
                COMPLAINTS_RECEIVED,
                INGRESS_UPDATES,
                ROUTING_COMMANDS,
                HOTSPOTS_SIGNALS,
                *(responder_updates_topic(r) for r in responder_systems),
            ),
            follows=(COMPLAINTS_ROUTED, COMPLAINTS_UPDATED),
            groups=(SERVICE_GROUPS["routing"], HOTSPOT_GROUP),
            transactions=(HOTSPOT_GROUP,),
        ),
        Grant(
            "notify",
            "alerts responders",
            writes=(NOTIFICATIONS_SENT, NOTIFICATIONS_FAILED, dead_letter_topic("notify")),
            reads=(
                COMPLAINTS_ROUTED,
                COMPLAINTS_ESCALATED,
                COMPLAINTS_REMINDED,
                COMPLAINTS_UPDATED,
                *HOTSPOT_TOPICS,
            ),
            groups=(SERVICE_GROUPS["notify"],),
        ),
        Grant(
            "stats",
            "counts everything, publishes the figures",
            writes=(STATS_SNAPSHOTS, STATS_CHANGED, dead_letter_topic("stats")),
            reads=(*COMPLAINT_TOPICS, *NOTIFICATION_TOPICS, *HOTSPOT_TOPICS, STATS_CHANGED),
            # Every copy follows every new snapshot: the console's live updates.
            follows=(STATS_SNAPSHOTS,),
            groups=(SERVICE_GROUPS["stats"],),
        ),
    )


ADMIN_GRANT = Grant(
    ADMIN,
    "the broker itself, kafka-init (creates the topics and these ACLs), operators' tools: "
    "`devtools.replay_dlq` (puts dead letters back), `gongzhi-watch` (reads the figures)",
    reads=tuple(dead_letter_topic(s) for s in SERVICES),
    follows=(STATS_SNAPSHOTS,),
    groups=(f"{RESERVED_PREFIX}dlq-replay-<service>",),
    super_user=True,
)


# --- Outside systems ------------------------------------------------------------------

PRINCIPAL_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
"""Lowercase letters, digits and ``-``: valid in a topic name (``ingress.updates.<id>``,
without mixing ``.`` and ``_``, which Kafka's metrics would confuse) and in a JAAS
``user_<name>`` option."""


def _principal_name(name: str) -> str:
    if not PRINCIPAL_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a principal name: lowercase letters, digits and '-', "
            "starting with a letter or digit, at most 100 characters"
        )
    if name == ADMIN or name in SERVICES:
        raise ValueError(f"{name!r} is one of Gongzhi's own principals")
    if name.startswith(RESERVED_PREFIX):
        raise ValueError(f"{name!r}: names starting with {RESERVED_PREFIX!r} are Gongzhi's own")
    return name


def _no_repeats(names: Iterable[str]) -> None:
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise ValueError(f"listed twice: {', '.join(repeated)}")


class OutsideSystems(BaseModel):
    """The operator's list of outside systems with a Kafka principal (all empty: none)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: tuple[str, ...] = ()
    """Principals that may write ``ingress.complaints``."""
    responders: tuple[str, ...] = ()
    """Responder ids (as in the directory) whose system writes its own update topic; the
    principal is the responder id."""
    readers: dict[str, tuple[str, ...]] = {}
    """Principal -> the public topic names it may read (in a group named after it)."""

    @field_validator("sources", "responders")
    @classmethod
    def _names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        _no_repeats(names)
        return tuple(_principal_name(n) for n in names)

    @field_validator("readers")
    @classmethod
    def _reader_names(cls, readers: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, topics in readers.items():
            _principal_name(name)
            _no_repeats(topics)
            if not topics:
                raise ValueError(f"reader {name!r} lists no topic")
        return readers

    @model_validator(mode="after")
    def _readers_read_known_topics(self) -> OutsideSystems:
        known = {spec.name for spec in topic_specs(responder_systems=self.responders)}
        for name, topics in self.readers.items():
            if INGRESS_COMPLAINTS in topics:
                # Outside systems write reporters in clear there; intake seals them only
                # on the way to complaints.received.
                raise ValueError(
                    f"reader {name!r}: {INGRESS_COMPLAINTS} holds reporters' contacts in "
                    "clear and is read by intake only"
                )
            unknown = sorted(set(topics) - known)
            if unknown:
                raise ValueError(
                    f"reader {name!r}: no such topic {', '.join(unknown)} "
                    "(public names, without KAFKA_TOPIC_PREFIX)"
                )
        return self


def load_outside_systems(path: str | Path) -> OutsideSystems:
    """The operator's file; raises DataFileError naming the file, entry and field."""
    return load_model(path, OutsideSystems)


def outside_grants(systems: OutsideSystems) -> tuple[Grant, ...]:
    sources = (
        Grant(name, "a source: submits complaints", writes=(INGRESS_COMPLAINTS,))
        for name in systems.sources
    )
    responders = (
        Grant(
            responder,
            "a responder's system: posts its own updates",
            writes=(responder_updates_topic(responder),),
        )
        for responder in systems.responders
    )
    readers = (
        Grant(name, "a reader", reads=topics, groups=(name,))
        for name, topics in systems.readers.items()
    )
    return (*sources, *responders, *readers)


def grants(systems: OutsideSystems | None = None) -> tuple[Grant, ...]:
    """Every principal of a deployment with these outside systems."""
    systems = systems or OutsideSystems()
    return (ADMIN_GRANT, *service_grants(systems.responders), *outside_grants(systems))


# --- ACLs -----------------------------------------------------------------------------


class Acl(NamedTuple):
    """One ALLOW binding, LITERAL resource name, from any host. READ and WRITE imply
    DESCRIBE; an idempotent producer needs WRITE on some topic (KIP-679), nothing on the
    cluster; no principal but admin may create, delete or alter anything."""

    principal: str
    """``User:<name>``."""
    resource_type: Literal["TOPIC", "GROUP", "TRANSACTIONAL_ID"]
    name: str
    operation: Literal["READ", "WRITE"]


def acls(granted: Iterable[Grant], prefix: str = "", partitions: int = 4) -> frozenset[Acl]:
    """The ACLs that allow exactly ``granted`` (super users need none); ``prefix`` is the
    deployment's ``KAFKA_TOPIC_PREFIX``, put in front of topics and groups."""
    out: set[Acl] = set()
    for grant in granted:
        if grant.super_user:
            continue
        user = f"User:{grant.principal}"
        out.update(Acl(user, "TOPIC", prefix + t, "WRITE") for t in grant.writes)
        out.update(Acl(user, "TOPIC", prefix + t, "READ") for t in (*grant.reads, *grant.follows))
        out.update(Acl(user, "GROUP", prefix + g, "READ") for g in grant.groups)
        out.update(
            Acl(user, "TRANSACTIONAL_ID", f"{prefix}{stem}-{p}", "WRITE")
            for stem in grant.transactions
            for p in range(partitions)
        )
    return frozenset(out)


# --- The README's table ---------------------------------------------------------------

README_MARKER = "<!-- kafka-access -->"
"""The table sits between two of these in README.md; a unit test compares it."""

_EXAMPLE_RESPONDER = "<responder id>"


def documented_grants() -> tuple[Grant, ...]:
    """The table as the README shows it: the outside systems as one row per kind."""
    return (
        ADMIN_GRANT,
        *service_grants((_EXAMPLE_RESPONDER,)),
        Grant(
            "a source",
            "an outside system under `sources:` (a hotline, an app): submits complaints",
            writes=(INGRESS_COMPLAINTS,),
        ),
        Grant(
            "a responder's system",
            "under `responders:`, principal = the responder's id: posts its own updates",
            writes=(responder_updates_topic(_EXAMPLE_RESPONDER),),
        ),
        Grant(
            "a reader",
            "under `readers:`, with the topics it may read",
            reads=("the topics listed for it",),
            groups=("its own name",),
        ),
    )


def _cell(names: Iterable[str]) -> str:
    return ", ".join(n if n.startswith(("the ", "its ")) else f"`{n}`" for n in names)


def markdown(granted: Iterable[Grant] | None = None) -> str:
    """The Kafka access table (Markdown)."""
    lines = [
        "| principal | is | writes | reads in its group | group | reads without a group |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for grant in documented_grants() if granted is None else granted:
        who = grant.principal
        if PRINCIPAL_NAME.fullmatch(who):
            who = f"`{who}`"
        writes = _cell(grant.writes)
        if grant.super_user:
            who, writes = f"{who} (super user)", "anything"
        lines.append(
            f"| {who} | {grant.does} | {writes} | {_cell(grant.reads)} "
            f"| {_cell(grant.groups)} | {_cell(grant.follows)} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
