"""Notify's composition root: the directory, the owner of deliveries, the trigger
subscriber, the outcome publishers, the flusher and ``/health`` + ``/metrics``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import uvicorn
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from fastapi import FastAPI
from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from services.notify import handlers
from services.notify.channels.dispatch import ChannelSender
from services.notify.owner import Notifier
from services.notify.rendering import Renderer
from services.notify.settings import NotifySettings
from services.notify.store import DeliveryStore
from shared.broker import batch_consumer_options, ensure_topics, make_broker
from shared.consuming import Discipline
from shared.directory import default_directory_path, load_directory
from shared.events import NotificationFailed, NotificationSent
from shared.http import dependency_checks, operations_router
from shared.http_errors import install_error_handlers
from shared.logs import configure_logging
from shared.mongo import database, make_mongo_client
from shared.ownership import OwnershipListener
from shared.publishing import ToTopic
from shared.running import consuming
from shared.topics import NOTIFICATIONS_FAILED, NOTIFICATIONS_SENT, dead_letter_topic

SERVICE = handlers.SERVICE
GROUP_ID = "gongzhi-notify"


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    topic = settings.kafka.topic
    directory = load_directory(settings.directory_path or default_directory_path())
    broker = make_broker(settings.kafka, client_id=SERVICE)
    outcomes = handlers.BrokerOutcomes(
        sent=broker.publisher(
            topic(NOTIFICATIONS_SENT),
            schema=NotificationSent,
            description="A responder's channel accepted an alert (one per delivery id).",
        ),
        failed=broker.publisher(
            topic(NOTIFICATIONS_FAILED),
            schema=NotificationFailed,
            description="An alert could not be delivered: permanently, or after the last retry.",
        ),
        dead_letters=ToTopic(broker, topic(dead_letter_topic(SERVICE))),
    )
    mongo = make_mongo_client(settings.mongo, SERVICE)
    store = DeliveryStore(database(mongo, settings.mongo))
    notifier = Notifier(
        settings=settings,
        directory=directory,
        store=store,
        sender=ChannelSender(settings),
        renderer=Renderer(
            public_base_url=settings.public_base_url,
            contacts=settings.contact_key_ring(),
            templates_dir=settings.templates_dir,
        ),
        publisher=outcomes,
    )
    deps = handlers.NotifyDeps(notifier, {topic(name): name for name in handlers.PARSERS})
    discipline = Discipline(broker, SERVICE, topic(dead_letter_topic(SERVICE)))

    # One consumer for the five topics, keyed by complaint id or hot-spot id: partition i
    # of each to one member, which records and attempts the deliveries they call for.
    @broker.subscriber(
        *deps.topics,
        group_id=settings.kafka.group(GROUP_ID),
        auto_offset_reset="earliest",
        # hotspots.detected is written in Kafka transactions: an aborted one (a crashed
        # detector) must never be read, or its hot spot would be alerted twice.
        isolation_level="read_committed",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        **batch_consumer_options(settings.kafka, settings.batch_max_records),
        partition_assignment_strategy=(RangePartitionAssignor,),
        listener=OwnershipListener(notifier, notifier.lock),
        description=(
            "Alerts: the lead and each support on complaints.routed (routed or rerouted); "
            "each escalated_to responder on complaints.escalated; the lead on "
            "complaints.reminded and on complaints.updated of type reopened; everyone "
            "alerted on hotspots.detected."
        ),
    )
    async def on_trigger(msg: KafkaMessage) -> None:
        await discipline.run(msg.raw_message, lambda batch: handlers.accept_triggers(batch, deps))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(settings.kafka)
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(notifier.sender.close)
            await stack.enter_async_context(
                consuming(
                    SERVICE,
                    broker,
                    mongo,
                    notifier.run_flusher,
                    # Attempts in flight finish and their outcomes are recorded and
                    # reported once no new trigger comes in.
                    drain=lambda: notifier.drain(timeout=settings.delivery_timeout_seconds),
                )
            )
            yield

    app = FastAPI(
        title="Gongzhi notify",
        version="1",
        lifespan=lifespan,
        description="Alerts responders over webhooks, WeCom, DingTalk, e-mail and SMS.",
    )
    app.state.broker = broker
    app.state.store = store
    app.state.notifier = notifier
    install_error_handlers(app)
    app.include_router(operations_router(SERVICE, dependency_checks(mongo, broker)))
    return app


def main() -> None:
    settings = NotifySettings()
    configure_logging(SERVICE, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )
