"""Routing's composition root: policy and directory, the partition owner, the subscriber
of received complaints and updates, the background loops and ``/health`` + ``/metrics``.

Routing has no update endpoint of its own: updates posted over HTTP reach it through
intake and ``ingress.updates``, so one owner applies every change to a complaint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import uvicorn
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from fastapi import FastAPI
from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from services.hotspots.signals import HotspotSignal
from services.routing import handlers
from services.routing.hotspot_stage import HotspotStage
from services.routing.index import OpenIndex
from services.routing.owner import SERVICE, Owner, Publishers
from services.routing.policy import RoutingPolicy, load_policy
from services.routing.settings import RoutingSettings
from services.routing.store import RoutingStore
from services.routing.wording import load_segmenter
from shared.broker import batch_consumer_options, ensure_topics, make_broker
from shared.consuming import Discipline
from shared.datafile import DataFileError
from shared.directory import Directory, default_directory_path, load_directory
from shared.events import (
    ComplaintEscalated,
    ComplaintRejected,
    ComplaintReminded,
    ComplaintRouted,
    ComplaintUpdated,
    HotspotClosed,
    HotspotDetected,
    IngressUpdate,
    RoutingCommand,
    UpdateReply,
)
from shared.http import dependency_checks, operations_router
from shared.http_errors import install_error_handlers
from shared.logs import configure_logging
from shared.mongo import database, make_mongo_client, now_ms
from shared.ownership import OwnershipListener
from shared.running import background, consuming
from shared.tail import TopicTail
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
    INGRESS_UPDATES,
    ROUTING_COMMANDS,
    ROUTING_REPLIES,
    dead_letter_topic,
    responder_updates_topic,
)

GROUP_ID = "gongzhi-routing"
VIEW_READY_SECONDS = 60.0

log = logging.getLogger(__name__)


def load_data(settings: RoutingSettings) -> tuple[RoutingPolicy, Directory]:
    """The policy (with the configured due scale) and the directory; raises
    DataFileError naming the file, entry and field when either is broken."""
    policy = load_policy(settings.resolved_policy_path()).with_due_scale(settings.due_scale)
    directory = load_directory(settings.directory_path or default_directory_path())
    return policy, directory


def responder_topics(settings: RoutingSettings, directory: Directory) -> dict[str, str]:
    """Full topic name -> responder id, for each responder system; a system the
    directory does not know stops the service."""
    topics: dict[str, str] = {}
    for responder in settings.responder_systems():
        if responder not in directory.responders_by_id:
            raise DataFileError(
                f"{settings.kafka_systems_path}: responders: {responder!r} is not in the directory"
            )
        topics[settings.kafka.topic(responder_updates_topic(responder))] = responder
    return topics


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    policy, directory = load_data(settings)
    topic = settings.kafka.topic
    broker = make_broker(settings.kafka, client_id=SERVICE)
    publish = {
        COMPLAINTS_ROUTED: broker.publisher(
            topic(COMPLAINTS_ROUTED),
            schema=ComplaintRouted,
            description="Who must act on a complaint (lead and supports) and by when; "
            "again with reason=rerouted after a return.",
        ),
        COMPLAINTS_UPDATED: broker.publisher(
            topic(COMPLAINTS_UPDATED),
            schema=ComplaintUpdated,
            description="An accepted lifecycle change (acknowledged, in_progress, resolved, "
            "returned, rated, reopened, duplicate_linked).",
        ),
        COMPLAINTS_ESCALATED: broker.publisher(
            topic(COMPLAINTS_ESCALATED),
            schema=ComplaintEscalated,
            description="A due time passed: who is now alerted, at which level, and why.",
        ),
        COMPLAINTS_REMINDED: broker.publisher(
            topic(COMPLAINTS_REMINDED),
            schema=ComplaintReminded,
            description="Most of the acknowledge window passed in silence: remind the lead.",
        ),
        COMPLAINTS_REJECTED: broker.publisher(
            topic(COMPLAINTS_REJECTED),
            schema=ComplaintRejected,
            description="An update on ingress.updates was refused, with the reasons.",
        ),
        HOTSPOTS_SIGNALS: broker.publisher(
            topic(HOTSPOTS_SIGNALS),
            schema=HotspotSignal,
            description="Internal: what the hot-spot detector learns of complaints "
            "(reported, resolved, reopened, unlinked; key: the community).",
        ),
        ROUTING_COMMANDS: broker.publisher(
            topic(ROUTING_COMMANDS),
            schema=RoutingCommand,
            description="Internal: what one routing owner asks of the owner of another "
            "complaint (a duplicate to remember, a resolution to follow); key: that complaint.",
        ),
        ROUTING_REPLIES: broker.publisher(
            topic(ROUTING_REPLIES),
            schema=UpdateReply,
            description="Internal: the answer to an update intake forwarded (key: request id).",
        ),
    }
    forward = broker.publisher(
        topic(INGRESS_UPDATES),
        schema=IngressUpdate,
        description="An update keyed so that it landed on another partition than its "
        "complaint's, sent again keyed by the complaint id.",
    )
    mongo = make_mongo_client(settings.mongo, SERVICE)
    owner = Owner(
        policy=policy,
        directory=directory,
        store=RoutingStore(database(mongo, settings.mongo)),
        index=OpenIndex(policy),
        publishers=Publishers(publish),
    )
    topics = handlers.Topics(
        received=topic(COMPLAINTS_RECEIVED),
        updates=topic(INGRESS_UPDATES),
        commands=topic(ROUTING_COMMANDS),
        routed=topic(COMPLAINTS_ROUTED),
        updated=topic(COMPLAINTS_UPDATED),
        responders=responder_topics(settings, directory),
    )
    deps = handlers.RoutingDeps(owner, topics, forward, settings.kafka.topic_partitions)
    discipline = Discipline(broker, SERVICE, topic(dead_letter_topic(SERVICE)))

    @broker.subscriber(
        topics.received,
        topics.updates,
        topics.commands,
        *topics.responders,
        group_id=settings.kafka.group(GROUP_ID),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        **batch_consumer_options(settings.kafka, settings.batch_max_records),
        # Partition i of every topic to one member: the owner of a complaint sees its
        # arrival and every update to it (all are keyed by complaint id, and every
        # update topic has as many partitions as ingress.updates).
        partition_assignment_strategy=(RangePartitionAssignor,),
        listener=OwnershipListener(owner, owner.lock),
        # Hot-spot commands come in Kafka transactions: only committed ones count.
        isolation_level="read_committed",
        description="Complaints intake accepted (each routed once, or linked as a "
        "duplicate), owners' commands, and lifecycle updates: from intake (HTTP) on "
        "ingress.updates, from each responder's own system on ingress.updates.<responder id>, "
        "as that responder only (refused ones answered on complaints.rejected, undecodable "
        "ones dead-lettered).",
    )
    async def on_inputs(msg: KafkaMessage) -> None:
        await discipline.run(msg.raw_message, lambda batch: handlers.route_batch(batch, deps))

    async def timers() -> None:
        while True:
            try:
                next_at = await handlers.fire_timers(deps)
            except Exception:
                log.exception("timer pass failed; will retry")
                next_at = None
            wait = settings.timer_max_wait_seconds
            if next_at is not None:
                wait = min(wait, max((next_at - now_ms()).total_seconds(), 0.01))
            owner.timer_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(owner.timer_changed.wait(), timeout=wait)

    async def pruning() -> None:
        while True:
            await asyncio.sleep(60)
            try:
                await handlers.prune(deps)
                owner.index.forget_before(now_ms() - policy.duplicate_window)
            except Exception:
                log.exception("pruning failed; will retry")

    view = TopicTail(
        settings.kafka,
        [topics.routed, topics.updated],
        lambda records: handlers.observe_complaints(records, deps),
        since=policy.duplicate_window + timedelta(minutes=5),
        client_id=f"{SERVICE}-open-complaints",
    )

    hotspots = HotspotStage(settings.kafka, policy, directory)
    # The stage writes these in Kafka transactions with its own producer; they are
    # declared here so the AsyncAPI document shows who publishes them.
    for name, model, about in (
        (HOTSPOTS_DETECTED, HotspotDetected, "A hot spot opened (exactly one per hot spot)"),
        (HOTSPOTS_CLOSED, HotspotClosed, "A hot spot closed: subsided or resolved"),
    ):
        broker.publisher(
            topic(name),
            schema=model,
            description=f"{about}; key = hotspot_id. Written in Kafka transactions: "
            "read with isolation_level=read_committed.",
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level)
        # jieba builds its dictionary on first use (a second or two): not on a complaint.
        await asyncio.to_thread(load_segmenter)
        counts = await ensure_topics(settings.kafka, tuple(topics.responders.values()))
        deps.partitions = counts.get(topics.updates, deps.partitions)
        async with background(view.run):
            # Duplicates are found in this view: start routing once it is caught up.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(view.ready.wait(), timeout=VIEW_READY_SECONDS)
            async with consuming(SERVICE, broker, mongo, timers, pruning, hotspots.run):
                yield

    app = FastAPI(
        title="Gongzhi routing",
        version="1",
        lifespan=lifespan,
        description="Decides who must act on each complaint and follows it until it closes.",
    )
    app.state.broker = broker
    app.state.owner = owner
    install_error_handlers(app)
    app.include_router(operations_router(SERVICE, dependency_checks(mongo, broker)))
    return app


def main() -> None:
    settings = RoutingSettings()
    try:
        app = create_app(settings)
    except DataFileError as exc:
        # A broken policy or directory must stop the service, saying where it is broken.
        print(f"routing: cannot start: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )
