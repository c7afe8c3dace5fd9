"""Intake's composition root: HTTP API, the ``ingress.complaints`` consumer, the relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import orjson
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.kafka import KafkaMessage
from pydantic import ValidationError

from services.intake.accept import (
    accept,
    body_hash,
    rejected_event,
    rejection_reasons,
)
from services.intake.auth import (
    ApiKey,
    KeyRing,
    RateLimiter,
    demo_key,
    hash_key,
    load_keys,
)
from services.intake.limits import BodySizeLimit
from services.intake.settings import DEMO_API_KEY, IntakeSettings
from services.intake.store import IntakeStore
from shared.broker import ensure_topics, make_broker
from shared.consuming import RecordInfo, handle_record
from shared.events import (
    ComplaintReceived,
    ComplaintRejected,
    ComplaintSubmission,
    ComplaintUpdateRequest,
    RejectionReason,
)
from shared.http import (
    dependency_checks,
    operations_router,
    refuse_without_echo,
)
from shared.ids import complaint_id_for
from shared.logs import configure_logging
from shared.metrics import PUBLISHED
from shared.mongo import database, make_mongo_client
from shared.running import consuming
from shared.topics import COMPLAINTS_RECEIVED, COMPLAINTS_REJECTED, INGRESS_COMPLAINTS

SERVICE = "intake"
GROUP_ID = "gongzhi-intake"
IDEMPOTENCY_KEEP = timedelta(hours=48)

log = logging.getLogger(__name__)


def build_key_ring(settings: IntakeSettings) -> KeyRing:
    keys = load_keys(keys_json=settings.api_keys, keys_file=settings.api_keys_file)
    demo_hash = hash_key(DEMO_API_KEY)
    if settings.environment == "production" and any(k.sha256 == demo_hash for k in keys):
        raise ValueError("the demo API key is not allowed in production")
    if not keys and settings.environment in ("local", "dev", "test"):
        keys = [demo_key(DEMO_API_KEY)]
    return KeyRing(keys)


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> ApiKey:
    """The API key behind a request: 401 unknown, 429 over its rate."""
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "missing API key (Authorization: Bearer <key>)")
    key: ApiKey | None = request.app.state.keys.identify(
        authorization.removeprefix("Bearer ").strip()
    )
    if key is None:
        raise HTTPException(401, "unknown API key")
    wait: float = request.app.state.limiter.try_take(key)
    if wait > 0:
        raise HTTPException(
            429, "rate limit exceeded", headers={"Retry-After": str(max(1, round(wait + 0.5)))}
        )
    return key


Caller = Annotated[ApiKey, Depends(caller)]


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    keys = build_key_ring(settings)
    limiter = RateLimiter(settings.rate_per_second, settings.rate_burst)
    topic = settings.kafka.topic
    broker = make_broker(settings.kafka, client_id=SERVICE)
    received = broker.publisher(
        topic(COMPLAINTS_RECEIVED),
        schema=ComplaintReceived,
        description="A complaint was accepted and now has an id.",
    )
    rejected = broker.publisher(
        topic(COMPLAINTS_REJECTED),
        schema=ComplaintRejected,
        description="A submission on ingress.complaints was refused, with the reasons.",
    )
    mongo = make_mongo_client(settings.mongo)
    store = IntakeStore(database(mongo, settings.mongo))

    async def publish_received(event: ComplaintReceived) -> None:
        await received.publish(event.model_dump_json().encode(), key=event.complaint_id.encode())
        PUBLISHED.labels(SERVICE, COMPLAINTS_RECEIVED).inc()

    async def refuse(body: bytes, record: RecordInfo, reason: str) -> None:
        try:
            parsed: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        reasons = _parse_reasons(parsed, reason)
        event = rejected_event(
            body,
            reasons,
            origin_topic=record.topic,
            origin_partition=record.partition,
            origin_offset=record.offset,
            parsed=parsed,
        )
        await rejected.publish(event.model_dump_json().encode(), key=record.key)
        PUBLISHED.labels(SERVICE, COMPLAINTS_REJECTED).inc()

    @broker.subscriber(
        topic(INGRESS_COMPLAINTS),
        group_id=settings.kafka.group(GROUP_ID),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        description="New complaints from outside systems (key: source:source_ref).",
    )
    async def on_ingress_complaint(msg: KafkaMessage) -> None:
        async def handle(body: bytes) -> None:
            submission = ComplaintSubmission.model_validate_json(body)
            await accept(submission, "kafka", store=store, publish=publish_received)

        await handle_record(
            msg.body,
            RecordInfo.of(msg.raw_message),
            handle,
            broker=broker,
            service=SERVICE,
            dead_letter_topic=topic("dlq.intake"),
            on_permanent=refuse,
        )

    async def relay_stale_claims() -> None:
        """Publish what a crashed copy accepted but never published."""
        lease = timedelta(seconds=settings.claim_lease_seconds)
        next_cleanup = datetime.now(UTC)
        while True:
            try:
                for doc in await store.stale_pending(lease):
                    event = ComplaintReceived.model_validate_json(doc["event"])
                    await publish_received(event)
                    await store.mark_published(event.complaint_id, doc["body_hash"])
                    await store.release(event.complaint_id)
                    log.info("relayed unpublished complaint", extra={"complaint_id": doc["_id"]})
                if datetime.now(UTC) >= next_cleanup:
                    await store.forget_idempotency_keys_before(datetime.now(UTC) - IDEMPOTENCY_KEEP)
                    next_cleanup = datetime.now(UTC) + timedelta(hours=1)
            except Exception:
                log.exception("relay pass failed; will retry")
            await asyncio.sleep(min(1.0, settings.claim_lease_seconds / 2))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level)
        await ensure_topics(settings.kafka)
        await store.prepare()
        async with (
            consuming(SERVICE, broker, mongo, relay_stale_claims),
            httpx.AsyncClient(base_url=settings.routing_url, timeout=10.0) as routing,
        ):
            app.state.routing = routing
            yield

    app = FastAPI(
        title="Gongzhi intake",
        version="1",
        lifespan=lifespan,
        description="Takes residents' complaints in and publishes them on Kafka.",
    )
    app.state.broker = broker
    app.state.keys = keys
    app.state.limiter = limiter

    refuse_without_echo(app)

    @app.post("/v1/complaints", status_code=202)
    async def submit_complaint(
        submission: ComplaintSubmission,
        key: Caller,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> dict[str, str]:
        if not key.allows("submit", submission.source):
            raise HTTPException(403, f"this key may not submit for source {submission.source!r}")
        if idempotency_key:
            first = await store.remember_idempotency_key(
                f"{key.name}:{idempotency_key}",
                body_hash(submission),
                complaint_id_for(submission.source, submission.source_ref),
            )
            if first["body_hash"] != body_hash(submission):
                raise HTTPException(
                    422, "Idempotency-Key was already used with a different request body"
                )
        accepted = await accept(submission, "http", store=store, publish=publish_received)
        return {"complaint_id": accepted.complaint_id, "status": "received"}

    @app.post("/v1/complaints/{complaint_id}/updates", status_code=202)
    async def post_update(
        complaint_id: str,
        update: ComplaintUpdateRequest,
        key: Caller,
        request: Request,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> JSONResponse:
        if not key.allows("update", update.actor_id):
            raise HTTPException(403, f"this key may not act as {update.actor_id!r}")
        routing: httpx.AsyncClient = request.app.state.routing
        try:
            answer = await routing.post(
                f"/v1/complaints/{complaint_id}/updates",
                content=update.model_dump_json(exclude_none=True),
                headers={
                    "content-type": "application/json",
                    # Routing makes a retried update a no-op under the same key.
                    **(
                        {"idempotency-key": f"{key.name}:{idempotency_key}"}
                        if idempotency_key
                        else {}
                    ),
                },
            )
        except httpx.TransportError as exc:
            raise HTTPException(503, "routing is not reachable; try again") from exc
        return JSONResponse(answer.json(), status_code=answer.status_code)

    app.include_router(operations_router(SERVICE, dependency_checks(mongo, broker)))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


def _parse_reasons(parsed: Any, fallback: str) -> list[RejectionReason]:
    """Field-level reasons where the body parsed as JSON, else one for the whole body."""
    if parsed is None:
        return [RejectionReason(field="<body>", message="not valid JSON")]
    try:
        ComplaintSubmission.model_validate(parsed)
    except ValidationError as exc:
        return rejection_reasons(exc)
    return [RejectionReason(field="<body>", message=fallback[:500])]


def main() -> None:
    settings = IntakeSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )
