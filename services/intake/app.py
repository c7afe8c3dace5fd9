"""Intake's composition root: settings, adapters, the ``ingress.complaints`` subscriber,
the HTTP API and the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

import uvicorn
from fastapi import FastAPI
from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from services.intake import handlers, http
from services.intake.group_commit import GroupCommit
from services.intake.limits import BodySizeLimit
from services.intake.replies import ReplyWaiter
from services.intake.settings import IntakeSettings
from services.intake.store import IntakeStore
from services.intake.update_bodies import UPDATE_TAGS
from shared.auth import RateLimiter, build_key_ring
from shared.broker import batch_consumer_options, ensure_topics, make_broker
from shared.consuming import Discipline, Refusal
from shared.events import ComplaintReceived, ComplaintRejected, IngressUpdate
from shared.http import dependency_checks, operations_router
from shared.http_errors import install_error_handlers
from shared.ids import complaint_id_for
from shared.logs import configure_logging
from shared.mongo import database, make_mongo_client
from shared.running import background, consuming
from shared.tail import TopicTail
from shared.topics import (
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    INGRESS_COMPLAINTS,
    INGRESS_UPDATES,
    ROUTING_REPLIES,
    dead_letter_topic,
)

SERVICE = handlers.SERVICE
GROUP_ID = "gongzhi-intake"

log = logging.getLogger(__name__)


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    topic = settings.kafka.topic
    broker = make_broker(settings.kafka, client_id=SERVICE)
    mongo = make_mongo_client(settings.mongo, SERVICE)
    deps = handlers.IntakeDeps(
        store=IntakeStore(database(mongo, settings.mongo)),
        received=broker.publisher(
            topic(COMPLAINTS_RECEIVED),
            schema=ComplaintReceived,
            description="A complaint was accepted and now has an id.",
        ),
        rejected=broker.publisher(
            topic(COMPLAINTS_REJECTED),
            schema=ComplaintRejected,
            description="A submission on ingress.complaints was refused, with the reasons.",
        ),
        contacts=settings.contact_key_ring(),
    )

    async def answer(refusals: Sequence[Refusal]) -> None:
        await handlers.answer_refusals(refusals, deps)

    discipline = Discipline(broker, SERVICE, topic(dead_letter_topic(SERVICE)), answer)
    replies = ReplyWaiter()
    answers = TopicTail(
        settings.kafka,
        [topic(ROUTING_REPLIES)],
        replies.observe,
        client_id=f"{SERVICE}-update-answers",
    )
    updates = handlers.UpdateSender(
        updates=broker.publisher(
            topic(INGRESS_UPDATES),
            schema=IngressUpdate,
            description="Lifecycle updates posted over HTTP, for routing to apply "
            "(key: complaint id; routing answers on routing.replies).",
        ),
        replies=replies,
        answer_within=settings.update_answer_seconds,
    )
    group: GroupCommit[handlers.Submitted, str] = GroupCommit(
        lambda items: handlers.admit_requests(items, deps),
        window_seconds=settings.group_commit_ms / 1000,
        max_items=settings.group_commit_max,
        key=lambda item: complaint_id_for(item.submission.source, item.submission.source_ref),
        in_flight=settings.group_commit_in_flight,
    )

    @broker.subscriber(
        topic(INGRESS_COMPLAINTS),
        group_id=settings.kafka.group(GROUP_ID),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        **batch_consumer_options(settings.kafka, settings.batch_max_records),
        description="New complaints from outside systems (key: source:source_ref).",
    )
    async def on_ingress_complaint(msg: KafkaMessage) -> None:
        await discipline.run(
            msg.raw_message, lambda batch: handlers.accept_ingress_batch(batch, deps)
        )

    async def forget_old_keys() -> None:
        while True:
            with contextlib.suppress(Exception):
                await handlers.forget_old_keys(deps)
            await asyncio.sleep(3600)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level)
        await ensure_topics(settings.kafka)
        async with (
            background(answers.run),
            consuming(SERVICE, broker, mongo, group.run, forget_old_keys),
        ):
            # An answer routing sends before this instance follows the topic is missed.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answers.ready.wait(), timeout=30)
            yield

    app = FastAPI(
        title="Gongzhi intake",
        version="1",
        lifespan=lifespan,
        description="Takes residents' complaints in and publishes them on Kafka.",
    )
    app.state.broker = broker
    app.state.keys = build_key_ring(
        keys_json=settings.api_keys,
        keys_file=settings.api_keys_file,
        environment=settings.environment,
    )
    app.state.tracking_secret = settings.tracking_key()
    app.state.limiter = RateLimiter(settings.rate_per_second, settings.rate_burst)
    app.state.group = group
    app.state.updates = updates
    install_error_handlers(app, union_tags=UPDATE_TAGS)
    app.include_router(http.router)
    app.include_router(operations_router(SERVICE, dependency_checks(mongo, broker)))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


def main() -> None:
    settings = IntakeSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        http="httptools",
        log_config=None,
        timeout_graceful_shutdown=20,
    )
