"""Notify's composition root: the four trigger subscribers, the retry worker, the
outcome publishers, and ``/health`` + ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable

import httpx
import uvicorn
from fastapi import FastAPI
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from services.notify.channels.dispatch import ChannelSender
from services.notify.notifier import Notifier
from services.notify.rendering import Renderer
from services.notify.sealing import Sealer
from services.notify.settings import NotifySettings
from services.notify.store import DeliveryStore, Origin
from services.notify.triggers import (
    Trigger,
    from_escalated,
    from_reminded,
    from_routed,
    from_updated,
)
from shared.broker import ensure_topics, make_broker, publish_dead_letter
from shared.consuming import RecordInfo, handle_record
from shared.directory import default_directory_path, load_directory
from shared.events import (
    ComplaintEscalated,
    ComplaintReminded,
    ComplaintRouted,
    ComplaintUpdated,
    NotificationFailed,
    NotificationSent,
)
from shared.http import dependency_checks, operations_router, stop_tasks
from shared.lag import watch_lag
from shared.logs import configure_logging
from shared.metrics import PUBLISHED
from shared.mongo import Document, database, make_mongo_client
from shared.topics import (
    COMPLAINTS_ESCALATED,
    COMPLAINTS_REMINDED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_SENT,
    dead_letter_topic,
)

SERVICE = "notify"
GROUP_ID = "gongzhi-notify"

log = logging.getLogger(__name__)


class BrokerOutcomes:
    """Publishes what notify did on ``notifications.*`` and parks failures on ``dlq.notify``."""

    def __init__(self, broker: KafkaBroker, settings: NotifySettings) -> None:
        topic = settings.kafka.topic
        self.broker = broker
        self.dead_letters = topic(dead_letter_topic(SERVICE))
        self._sent = broker.publisher(
            topic(NOTIFICATIONS_SENT),
            schema=NotificationSent,
            description="A responder's channel accepted an alert (one per delivery id).",
        )
        self._failed = broker.publisher(
            topic(NOTIFICATIONS_FAILED),
            schema=NotificationFailed,
            description="An alert could not be delivered: permanently, or after the last retry.",
        )

    async def sent(self, event: NotificationSent) -> None:
        await self._sent.publish(event.model_dump_json().encode(), key=event.complaint_id.encode())
        PUBLISHED.labels(SERVICE, NOTIFICATIONS_SENT).inc()

    async def failed(self, event: NotificationFailed) -> None:
        await self._failed.publish(
            event.model_dump_json().encode(), key=event.complaint_id.encode()
        )
        PUBLISHED.labels(SERVICE, NOTIFICATIONS_FAILED).inc()

    async def dead_letter(self, document: Document, error: str, attempts: int) -> None:
        origin = document["origin"]
        body = {
            key: document[key]
            for key in ("_id", "complaint_id", "responder_id", "channel", "reason", "trigger")
        }
        await publish_dead_letter(
            self.broker,
            topic=self.dead_letters,
            service=SERVICE,
            body=_json(body),
            key=str(document["complaint_id"]).encode(),
            origin_topic=origin["topic"],
            origin_partition=origin["partition"],
            origin_offset=origin["offset"],
            error=f"delivery {document['_id']} to {document['responder_id']} "
            f"over {document['channel']}: {error}",
            attempts=attempts,
        )


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str).encode()


class Runtime:
    """What the subscribers need, made in the lifespan."""

    notifier: Notifier | None = None


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    topic = settings.kafka.topic
    directory = load_directory(settings.directory_path or default_directory_path())
    broker = make_broker(settings.kafka, client_id=SERVICE)
    outcomes = BrokerOutcomes(broker, settings)
    mongo = make_mongo_client(settings.mongo, SERVICE)
    store = DeliveryStore(
        database(mongo, settings.mongo),
        Sealer(settings.seal_key()),
        lease_seconds=settings.delivery_lease_seconds,
    )
    runtime = Runtime()

    parsers: dict[str, Callable[[bytes], Trigger | None]] = {
        topic(COMPLAINTS_ROUTED): lambda body: from_routed(
            ComplaintRouted.model_validate_json(body)
        ),
        topic(COMPLAINTS_ESCALATED): lambda body: from_escalated(
            ComplaintEscalated.model_validate_json(body)
        ),
        topic(COMPLAINTS_REMINDED): lambda body: from_reminded(
            ComplaintReminded.model_validate_json(body)
        ),
        topic(COMPLAINTS_UPDATED): lambda body: from_updated(
            ComplaintUpdated.model_validate_json(body)
        ),
    }

    # One consumer for the four topics: one group member per instance joins faster and
    # rebalances less than four would.
    @broker.subscriber(
        *parsers,
        group_id=settings.kafka.group(GROUP_ID),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        description=(
            "Alerts: the lead and each support on complaints.routed (routed or rerouted); "
            "each escalated_to responder on complaints.escalated; the lead on "
            "complaints.reminded and on complaints.updated of type reopened."
        ),
    )
    async def on_trigger(msg: KafkaMessage) -> None:
        record = RecordInfo.of(msg.raw_message)

        async def handle(body: bytes) -> None:
            trigger = parsers[record.topic](body)
            if trigger is None or runtime.notifier is None:
                return
            await runtime.notifier.accept(
                trigger, Origin(record.topic, record.partition, record.offset)
            )

        await handle_record(
            msg.body,
            record,
            handle,
            broker=broker,
            service=SERVICE,
            dead_letter_topic=outcomes.dead_letters,
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(settings.kafka)
        stop = asyncio.Event()
        async with httpx.AsyncClient(follow_redirects=False) as client:
            notifier = Notifier(
                settings=settings,
                directory=directory,
                store=store,
                sender=ChannelSender(settings, client),
                renderer=Renderer(
                    public_base_url=settings.public_base_url, templates_dir=settings.templates_dir
                ),
                publisher=outcomes,
            )
            runtime.notifier = notifier
            app.state.notifier = notifier
            await broker.start()
            retries = asyncio.create_task(notifier.run_retries(stop))
            lag = asyncio.create_task(watch_lag(SERVICE, broker))
            try:
                yield
            finally:
                stop.set()
                await stop_tasks(lag)
                await broker.stop()
                await retries
                await notifier.drain(timeout=settings.delivery_timeout_seconds)
                await mongo.close()

    app = FastAPI(
        title="Gongzhi notify",
        version="1",
        lifespan=lifespan,
        description="Alerts responders over webhooks, WeCom, DingTalk, e-mail and SMS.",
    )
    app.state.broker = broker
    app.state.store = store
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
