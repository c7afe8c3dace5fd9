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
from typing import Annotated, Any, TypeVar

import uvicorn
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from fastapi import FastAPI, Header, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from services.stats.complaint import view
from services.stats.figures import Filters, compute
from services.stats.handlers import MODELS, Batch, Group, Source, parse
from services.stats.periods import is_period, month_of
from services.stats.render import dashboard, to_csv
from services.stats.settings import StatsSettings
from services.stats.snapshots import SnapshotPublisher
from services.stats.store import StatsStore
from shared.broker import ensure_topics, make_broker
from shared.consuming import TRANSIENT_ERRORS, RecordInfo, backoff_seconds, handle_record
from shared.events import StatsSnapshot
from shared.http import dependency_checks, operations_router
from shared.logs import configure_logging
from shared.metrics import PUBLISHED
from shared.mongo import database, make_mongo_client
from shared.running import consuming
from shared.topics import STATS_SNAPSHOTS, dead_letter_topic

SERVICE = "stats"
GROUP_ID = "gongzhi-stats"
_T = TypeVar("_T")

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
    mongo = make_mongo_client(settings.mongo, SERVICE)
    store = StatsStore(database(mongo, settings.mongo), settings.tz)
    owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    async def publish_snapshot(scope: str, snapshot: StatsSnapshot) -> None:
        await snapshots.publish(snapshot.model_dump_json().encode(), key=scope.encode())
        PUBLISHED.labels(SERVICE, STATS_SNAPSHOTS).inc()

    publisher = SnapshotPublisher(store, publish_snapshot, settings, owner)
    discipline: dict[str, Any] = {
        "broker": broker,
        "service": SERVICE,
        "dead_letter_topic": topic(dead_letter_topic(SERVICE)),
    }

    @broker.subscriber(
        *by_name,
        group_id=settings.kafka.group(GROUP_ID),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=settings.batch_max_records,
        # Every event is keyed by its complaint id and every topic has the same
        # partition count, so the range assignor's "partition i of every topic to
        # the same member" puts all of one complaint's topics on one instance: two
        # instances never write one complaint's document at once, which FerretDB's
        # non-atomic updates of one document would not survive.
        partition_assignment_strategy=(RangePartitionAssignor,),
        description="Every complaint and notification event, counted into MongoDB.",
    )
    async def on_events(msg: KafkaMessage) -> None:
        # Each record is decoded under the consumer discipline (what cannot be read is
        # parked); the facts are then written one document per complaint, complaints
        # side by side; the scopes they touched are marked once, before the commit.
        batch = Batch(settings.tz)
        for raw in msg.raw_message:
            record = RecordInfo.of(raw)

            async def add(body: bytes, record: RecordInfo = record) -> None:
                name = by_name[record.topic]
                batch.add(parse(name, body), Source(name, body, record))

            await handle_record(raw.value or b"", record, add, **discipline)
        limit = asyncio.Semaphore(settings.write_concurrency)

        async def write(group: Group) -> set[str]:
            async with limit:
                return await store_group(group)

        touched: set[str] = set()
        for scopes in await asyncio.gather(*(write(g) for g in batch.groups.values())):
            touched |= scopes
        await retry_transient(lambda: store.mark_dirty(touched))

    async def store_group(group: Group) -> set[str]:
        try:
            return await retry_transient(lambda: store.store_group(group))
        except Exception:
            log.exception("storing a group of facts failed; storing its records one by one")
        # One record at a time under the full discipline: what keeps failing is parked
        # and the others are counted.
        touched: set[str] = set()
        for source in group.sources:

            async def one(body: bytes, source: Source = source) -> None:
                single = Batch(settings.tz)
                single.add(parse(source.topic, body), source)
                for part in single.groups.values():
                    touched.update(await store.store_group(part))

            await handle_record(source.body, source.record, one, **discipline)
        return touched

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level)
        await ensure_topics(settings.kafka)
        await store.ensure_indexes()
        async with consuming(SERVICE, broker, mongo, publisher.run, publisher.refresh):
            yield

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

    app.include_router(operations_router(SERVICE, dependency_checks(mongo, broker)))
    return app


async def retry_transient(operation: Callable[[], Awaitable[_T]]) -> _T:
    """Retry in place while MongoDB is briefly away, like the consumer discipline does."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await operation()
        except TRANSIENT_ERRORS:
            log.warning(
                "transient failure writing to MongoDB, retrying", extra={"attempt": attempt}
            )
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
