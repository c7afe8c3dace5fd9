"""Stats' composition root: the event consumer, the snapshot publisher and the HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, Header, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from services.stats.complaint import view
from services.stats.figures import Filters, compute
from services.stats.handlers import MODELS, ingest
from services.stats.periods import is_period, month_of
from services.stats.render import dashboard, to_csv
from services.stats.settings import StatsSettings
from services.stats.snapshots import SnapshotPublisher
from services.stats.store import StatsStore
from shared.broker import ensure_topics, make_broker
from shared.consuming import TRANSIENT_ERRORS, RecordInfo, backoff_seconds, handle_record
from shared.events import StatsSnapshot
from shared.http import operations_router
from shared.logs import configure_logging
from shared.metrics import PUBLISHED
from shared.mongo import database, make_mongo_client
from shared.topics import STATS_SNAPSHOTS, dead_letter_topic

SERVICE = "stats"
GROUP_ID = "gongzhi-stats"

log = logging.getLogger(__name__)


def create_app(settings: StatsSettings | None = None) -> FastAPI:
    settings = settings or StatsSettings()
    topic = settings.kafka.topic
    by_name = {topic(name): name for name in MODELS}
    broker = make_broker(settings.kafka, client_id=SERVICE)
    snapshots = broker.publisher(
        topic(STATS_SNAPSHOTS),
        schema=StatsSnapshot,
        description="Latest figures per scope (city, responder or community × day or month); "
        "key = scope, e.g. city:2026-11 or responder:pf-dianzhong:2026-11. Compacted.",
    )
    mongo = make_mongo_client(settings.mongo)
    store = StatsStore(database(mongo, settings.mongo), settings.tz)
    owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    async def publish_snapshot(scope: str, snapshot: StatsSnapshot) -> None:
        await snapshots.publish(snapshot.model_dump_json().encode(), key=scope.encode())
        PUBLISHED.labels(SERVICE, STATS_SNAPSHOTS).inc()

    publisher = SnapshotPublisher(store, publish_snapshot, settings, owner)

    @broker.subscriber(
        *by_name,
        group_id=GROUP_ID,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=settings.batch_max_records,
        description="Every complaint and notification event, counted into MongoDB.",
    )
    async def on_events(msg: KafkaMessage) -> None:
        # Facts are written one record at a time under the consumer discipline; the
        # scopes they touched are marked once per batch, before the batch is committed.
        touched: set[str] = set()
        for raw in msg.raw_message:
            record = RecordInfo.of(raw)

            async def handle(body: bytes, topic: str = by_name[record.topic]) -> None:
                touched.update(await ingest(store, topic, body))

            await handle_record(
                raw.value or b"",
                record,
                handle,
                broker=broker,
                service=SERVICE,
                dead_letter_topic=topic(dead_letter_topic(SERVICE)),
            )
        await retry_transient(lambda: store.mark_dirty(touched))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level)
        await ensure_topics(settings.kafka)
        await store.ensure_indexes()
        await broker.start()
        tasks = [
            asyncio.create_task(publisher.run()),
            asyncio.create_task(publisher.refresh()),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await broker.stop()
            await mongo.close()

    app = FastAPI(
        title="Gongzhi stats",
        version="1",
        lifespan=lifespan,
        description="Complaint views, figures and the three rates, from every event.",
    )
    app.state.broker = broker
    app.state.store = store

    async def figures_of(
        period: str | None,
        compound: str | None,
        community: str | None,
        responder: str | None,
        category: str | None,
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        period = period or month_of(now, settings.tz)
        if not is_period(period):
            raise HTTPException(422, "period must be YYYY-MM or YYYY-MM-DD")
        complaints, notifications, lookup, rejected = await store.period_data([period])
        filters = Filters(compound, community, responder, category)
        figures = compute(
            complaints,
            notifications,
            period,
            filters,
            now,
            rejected=rejected[period],
            lookup=lookup,
        )
        figures["generated_at"] = now.isoformat()
        return figures

    @app.get("/v1/complaints/{complaint_id}")
    async def get_complaint(complaint_id: str) -> dict[str, Any]:
        found = await store.complaint(complaint_id)
        if found is None:
            raise HTTPException(404, "unknown complaint")
        state, notified = found
        return view(state) | {"notifications": notified}

    @app.get("/v1/stats", response_model=None)
    async def get_stats(
        period: str | None = None,
        compound: str | None = None,
        community: str | None = None,
        responder: str | None = None,
        category: str | None = None,
        format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
        accept: Annotated[str | None, Header()] = None,
    ) -> Response:
        figures = await figures_of(period, compound, community, responder, category)
        wants_csv = format == "csv" or (format is None and "text/csv" in (accept or ""))
        if wants_csv:
            name = f"gongzhi-stats-{figures['period']}.csv"
            return Response(
                to_csv(figures),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return JSONResponse(figures)

    @app.get("/dashboard", response_class=HTMLResponse)
    async def get_dashboard(
        period: str | None = None,
        compound: str | None = None,
        community: str | None = None,
        responder: str | None = None,
        category: str | None = None,
    ) -> HTMLResponse:
        figures = await figures_of(period, compound, community, responder, category)
        return HTMLResponse(dashboard(figures))

    async def kafka_up() -> bool:
        return await broker.ping(timeout=2.0)

    app.include_router(operations_router(SERVICE, {"mongodb": store.ping, "kafka": kafka_up}))
    return app


async def retry_transient(operation: Callable[[], Awaitable[None]]) -> None:
    """Retry in place while MongoDB is briefly away, like the consumer discipline does."""
    attempt = 0
    while True:
        attempt += 1
        try:
            await operation()
            return
        except TRANSIENT_ERRORS:
            log.warning("transient failure marking scopes, retrying", extra={"attempt": attempt})
            await asyncio.sleep(backoff_seconds(attempt))


def main() -> None:
    settings = StatsSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )
