"""Stats' composition root: the owner of its partitions, the subscriber of every
complaint and notification event (and of ``stats.changed``), the timer and snapshot
loops, the HTTP API and the console (``services.stats.console``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import uvicorn
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from fastapi import FastAPI
from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from services.stats import console, contact, handlers, http
from services.stats.console.live import ClosingServer
from services.stats.owner import SERVICE, StatsOwner
from services.stats.settings import StatsSettings
from services.stats.store import StatsStore
from shared.auth import build_key_ring
from shared.broker import batch_consumer_options, ensure_topics, make_broker
from shared.consuming import Discipline
from shared.directory import default_directory_path, load_directory
from shared.events import ScopeChanged, StatsSnapshot
from shared.http import dependency_checks, operations_router
from shared.http_auth import allow_anonymous
from shared.http_errors import install_error_handlers
from shared.logs import configure_logging
from shared.mongo import database, make_mongo_client, now_ms
from shared.ownership import OwnershipListener
from shared.running import consuming
from shared.topics import STATS_CHANGED, STATS_SNAPSHOTS, dead_letter_topic

GROUP_ID = "gongzhi-stats"

log = logging.getLogger(__name__)


def create_app(settings: StatsSettings | None = None) -> FastAPI:
    settings = settings or StatsSettings()
    topic = settings.kafka.topic
    broker = make_broker(settings.kafka, client_id=SERVICE)
    mongo = make_mongo_client(settings.mongo, SERVICE)
    db = database(mongo, settings.mongo)
    store = StatsStore(db, settings.tz)
    owner = StatsOwner(
        store=store,
        tz=settings.tz,
        changed=broker.publisher(
            topic(STATS_CHANGED),
            schema=ScopeChanged,
            description="Internal: a scope whose figures changed (key: scope), for the "
            "instance that publishes its snapshot.",
        ),
        snapshots=broker.publisher(
            topic(STATS_SNAPSHOTS),
            schema=StatsSnapshot,
            description="Latest figures per scope (city, responder or community × day or "
            "month); key = scope, e.g. city:2026-11 or responder:pf-dianzhong:2026-11. "
            "Compacted.",
        ),
        interval=settings.snapshot_interval_seconds,
        partitions=settings.kafka.topic_partitions,
    )
    names = [*handlers.MODELS, STATS_CHANGED]
    deps = handlers.StatsDeps(owner, {topic(name): name for name in names}, settings.tz)
    discipline = Discipline(broker, SERVICE, topic(dead_letter_topic(SERVICE)))

    @broker.subscriber(
        *deps.topics,
        group_id=settings.kafka.group(GROUP_ID),
        auto_offset_reset="earliest",
        # Hot-spot events are written in Kafka transactions: an aborted one is not read.
        isolation_level="read_committed",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        **batch_consumer_options(settings.kafka, settings.batch_max_records),
        # Every event is keyed by its complaint id (a hot-spot event and its alerts by
        # the hot-spot id, a change notice by its scope) and
        # every topic has the same partition count, so the range assignor's "partition i
        # of every topic to the same member" gives one instance all of a complaint's
        # events, and every notice of the scopes whose home partition it owns.
        partition_assignment_strategy=(RangePartitionAssignor,),
        listener=OwnershipListener(owner, owner.lock),
        description="Every complaint, notification and hot-spot event, counted into MongoDB.",
    )
    async def on_events(msg: KafkaMessage) -> None:
        await discipline.run(msg.raw_message, lambda batch: handlers.count_batch(batch, deps))

    async def timers() -> None:
        while True:
            try:
                async with owner.lock:
                    next_at = await owner.fire_timers()
            except Exception:
                log.exception("timer pass failed; will retry")
                next_at = None
            wait = 1.0 if next_at is None else (next_at - now_ms()).total_seconds()
            await asyncio.sleep(min(max(wait, 0.01), 1.0))

    async def snapshots() -> None:
        while True:
            try:
                async with owner.lock:
                    await owner.write_tallies()
                await owner.publish_due()
            except Exception:
                log.exception("snapshot pass failed; will retry")
            await asyncio.sleep(settings.snapshot_poll_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level)
        counts = await ensure_topics(settings.kafka)
        owner.partitions = counts.get(topic(STATS_CHANGED), owner.partitions)
        await store.ensure_indexes()
        await desk.sessions.ensure_indexes()
        async with consuming(SERVICE, broker, mongo, timers, snapshots, console.tail(desk).run):
            yield
        desk.live.close()
        await desk.intake.aclose()

    app = FastAPI(
        title="Gongzhi stats",
        version="1",
        lifespan=lifespan,
        description="Complaint views, figures and the three rates, from every event.",
    )
    app.state.broker = broker
    app.state.store = store
    app.state.owner = owner
    app.state.settings = settings
    app.state.keys = build_key_ring(
        keys_json=settings.api_keys,
        keys_file=settings.api_keys_file,
        environment=settings.environment,
    )
    app.state.directory = load_directory(settings.directory_path or default_directory_path())
    app.include_router(http.router)
    contact.mount(app, db, settings.contact_key_ring())
    desk = console.install(app, settings, store, db, app.state.keys, app.state.directory)
    install_error_handlers(app)
    if settings.figures_are_public:
        allow_anonymous(app, http.FIGURES_PATHS)
    app.include_router(operations_router(SERVICE, dependency_checks(mongo, broker)))
    return app


def main() -> None:
    settings = StatsSettings()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )
    ClosingServer(config, app.state.console.live).run()
