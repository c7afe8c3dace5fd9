"""Routing's composition root: Kafka subscribers and publishers, the HTTP API for
lifecycle updates, and the sweeper (reminders, escalations, outbox relay)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

import orjson
import uvicorn
from aiokafka import ConsumerRecord
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.kafka import KafkaMessage
from pydantic import ValidationError

from services.routing.lifecycle import UpdateRefusedError
from services.routing.policy import RoutingPolicy, load_policy
from services.routing.service import Router, UnknownComplaintError
from services.routing.settings import RoutingSettings
from services.routing.state import OutboxEntry
from services.routing.store import RoutingStore
from shared.broker import ensure_topics, make_broker
from shared.consuming import PermanentError, RecordInfo, handle_record
from shared.datafile import DataFileError
from shared.directory import Directory, default_directory_path, load_directory
from shared.events import (
    ComplaintEscalated,
    ComplaintReceived,
    ComplaintRejected,
    ComplaintReminded,
    ComplaintRouted,
    ComplaintUpdated,
    ComplaintUpdateRequest,
    IngressUpdate,
    RejectionReason,
    new_event_id,
)
from shared.http import (
    dependency_checks,
    operations_router,
    refuse_without_echo,
)
from shared.ids import stable_id
from shared.lanes import run_in_lanes
from shared.logs import configure_logging
from shared.metrics import PUBLISHED
from shared.mongo import database, make_mongo_client
from shared.privacy import scrub_phones
from shared.running import consuming
from shared.topics import (
    COMPLAINTS_ESCALATED,
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_REMINDED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    INGRESS_UPDATES,
    dead_letter_topic,
)

SERVICE = "routing"
GROUP_ID = "gongzhi-routing"

REFUSAL_STATUS = {"not_routed": 409, "not_allowed": 409, "not_assigned": 403, "invalid": 422}

log = logging.getLogger(__name__)


def compound_of(raw: ConsumerRecord[bytes, bytes]) -> str:
    """The lane of a received complaint: its compound (what cannot be read goes in a
    lane of its own, where the consumer discipline parks it)."""
    try:
        parsed = orjson.loads(raw.value or b"")
    except orjson.JSONDecodeError:
        return ""
    compound = parsed.get("compound_id") if isinstance(parsed, dict) else None
    return compound if isinstance(compound, str) else ""


def load_data(settings: RoutingSettings) -> tuple[RoutingPolicy, Directory]:
    """The policy (with the configured due scale) and the directory; raises
    DataFileError naming the file, entry and field when either is broken."""
    policy = load_policy(settings.resolved_policy_path()).with_due_scale(settings.due_scale)
    directory = load_directory(settings.directory_path or default_directory_path())
    return policy, directory


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    policy, directory = load_data(settings)
    topic = settings.kafka.topic
    broker = make_broker(settings.kafka, client_id=SERVICE)
    publishers = {
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
    }
    rejected = broker.publisher(
        topic(COMPLAINTS_REJECTED),
        schema=ComplaintRejected,
        description="An update on ingress.updates was refused, with the reasons.",
    )
    mongo = make_mongo_client(settings.mongo, SERVICE)
    store = RoutingStore(database(mongo, settings.mongo))

    async def publish(entry: OutboxEntry, complaint_id: str) -> None:
        await publishers[entry.topic].publish(entry.payload.encode(), key=complaint_id.encode())
        PUBLISHED.labels(SERVICE, entry.topic).inc()

    router = Router(
        policy=policy,
        directory=directory,
        store=store,
        publish=publish,
        relay_after=timedelta(seconds=settings.outbox_relay_after_seconds),
    )

    @broker.subscriber(
        topic(COMPLAINTS_RECEIVED),
        group_id=settings.kafka.group(GROUP_ID),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=settings.batch_max_records,
        description="Complaints intake accepted: each is routed once (or linked as a duplicate).",
    )
    async def on_received(msg: KafkaMessage) -> None:
        # Complaints of different compounds are routed side by side: the time goes in
        # round trips to MongoDB. One compound's complaints stay in order, so a
        # duplicate always finds the complaint it repeats.
        async def route_record(raw: ConsumerRecord[bytes, bytes]) -> None:
            async def handle(body: bytes) -> None:
                await router.route(ComplaintReceived.model_validate_json(body))

            await handle_record(
                raw.value or b"",
                RecordInfo.of(raw),
                handle,
                broker=broker,
                service=SERVICE,
                dead_letter_topic=topic(dead_letter_topic(SERVICE)),
            )

        await run_in_lanes(
            msg.raw_message,
            compound_of,
            route_record,
            concurrency=settings.route_concurrency,
        )

    async def refuse(
        record: RecordInfo, reasons: list[RejectionReason], parsed: dict[str, Any]
    ) -> None:
        complaint_id = parsed.get("complaint_id")
        actor_id = parsed.get("actor_id")
        event = ComplaintRejected(
            event_id=stable_id(record.topic, record.partition, record.offset, "rejected"),
            complaint_id=complaint_id if isinstance(complaint_id, str) else "",
            kind="update",
            actor_id=actor_id if isinstance(actor_id, str) else None,
            reasons=reasons,
            origin_topic=record.topic,
            origin_partition=record.partition,
            origin_offset=record.offset,
            excerpt=scrub_phones(orjson.dumps(parsed).decode())[:500],
        )
        await rejected.publish(event.model_dump_json().encode(), key=record.key)
        PUBLISHED.labels(SERVICE, COMPLAINTS_REJECTED).inc()

    @broker.subscriber(
        topic(INGRESS_UPDATES),
        group_id=settings.kafka.group(GROUP_ID),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        description="Lifecycle updates from responders' and residents' systems; refused "
        "ones are answered on complaints.rejected, undecodable ones dead-lettered.",
    )
    async def on_ingress_update(msg: KafkaMessage) -> None:
        record = RecordInfo.of(msg.raw_message)

        async def handle(body: bytes) -> None:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise PermanentError(f"not JSON: {exc}") from exc
            if not isinstance(parsed, dict):
                raise PermanentError("not a JSON object")
            try:
                update = IngressUpdate.model_validate(parsed)
            except ValidationError as exc:
                await refuse(record, _reasons(exc), parsed)
                return
            request = ComplaintUpdateRequest.model_validate(
                update.model_dump(exclude={"complaint_id"})
            )
            key = stable_id("ingress", record.topic, record.partition, record.offset)
            try:
                await router.update(update.complaint_id, request, key=key)
            except UnknownComplaintError:
                await refuse(
                    record,
                    [RejectionReason(field="complaint_id", message="unknown complaint")],
                    parsed,
                )
            except UpdateRefusedError as refusal:
                await refuse(
                    record, [RejectionReason(field=refusal.field, message=refusal.reason)], parsed
                )

        await handle_record(
            msg.body,
            record,
            handle,
            broker=broker,
            service=SERVICE,
            dead_letter_topic=topic(dead_letter_topic(SERVICE)),
        )

    async def sweeper() -> None:
        """Reminders, escalations and the outbox relay. Every copy runs one; the
        version-conditioned writes in the store keep them from doing a step twice."""
        while True:
            started = time.monotonic()
            try:
                await router.sweep_once()
                await router.relay_once()
            except Exception:
                log.exception("sweep failed; will retry")
            # A pass over a large backlog is slow; resting twice as long keeps the
            # sweeper from taking the CPU from the consumers.
            took = time.monotonic() - started
            await asyncio.sleep(max(settings.sweep_interval_seconds, 2 * took))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level)
        await ensure_topics(settings.kafka)
        await store.prepare()
        async with consuming(SERVICE, broker, mongo, sweeper):
            yield

    app = FastAPI(
        title="Gongzhi routing",
        version="1",
        lifespan=lifespan,
        description="Decides who must act on each complaint and follows it until it closes.",
    )
    app.state.broker = broker
    app.state.router = router

    refuse_without_echo(app)

    @app.post("/v1/complaints/{complaint_id}/updates", status_code=202)
    async def post_update(
        complaint_id: str,
        update: ComplaintUpdateRequest,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> JSONResponse:
        """Apply a lifecycle update (intake's public endpoint forwards here after auth)."""
        key = stable_id("http", idempotency_key) if idempotency_key else new_event_id()
        try:
            state = await router.update(complaint_id, update, key=key)
        except UnknownComplaintError:
            return JSONResponse({"detail": "unknown complaint"}, status_code=404)
        except UpdateRefusedError as refusal:
            return JSONResponse(
                {"detail": refusal.reason, "field": refusal.field, "code": refusal.code},
                status_code=REFUSAL_STATUS[refusal.code],
            )
        return JSONResponse(
            {
                "complaint_id": complaint_id,
                "status": state.status.value,
                "lead": state.lead.responder_id if state.lead else None,
            },
            status_code=202,
        )

    app.include_router(operations_router(SERVICE, dependency_checks(mongo, broker)))
    return app


def _reasons(exc: ValidationError) -> list[RejectionReason]:
    return [
        RejectionReason(field=".".join(str(p) for p in err["loc"]) or "<body>", message=err["msg"])
        for err in exc.errors()
    ]


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
