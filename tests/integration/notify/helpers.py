"""Running notify in-process and reading what it published."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

from fastapi import FastAPI
from pymongo import AsyncMongoClient

from devtools.loopback import produce
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from services.notify.store import OUTCOMES
from shared.mongo import unpacked_document
from shared.topics import NOTIFICATIONS_FAILED, NOTIFICATIONS_SENT
from tests.support import collect


@contextlib.asynccontextmanager
async def running(settings: NotifySettings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


class _ComplaintEvent(Protocol):
    @property
    def complaint_id(self) -> str: ...

    def model_dump_json(self) -> str: ...


async def publish(settings: NotifySettings, topic: str, *events: _ComplaintEvent) -> None:
    await produce(
        settings.kafka.bootstrap_servers,
        settings.kafka.topic(topic),
        [(e.complaint_id.encode(), e.model_dump_json().encode()) for e in events],
    )


async def outcomes(
    settings: NotifySettings, count: int, *, timeout: float = 45.0
) -> list[dict[str, Any]]:
    """Every notifications.sent/failed event, once at least ``count`` distinct deliveries
    have an outcome; each value gets ``outcome`` = sent | failed."""
    topics = {settings.kafka.topic(NOTIFICATIONS_SENT): "sent",
              settings.kafka.topic(NOTIFICATIONS_FAILED): "failed"}  # fmt: skip
    records = await collect(
        settings.kafka.bootstrap_servers,
        list(topics),
        until=lambda r: len({x["value"]["delivery_id"] for x in r}) >= count,
        timeout=timeout,
    )
    return [{**r["value"], "outcome": topics[r["topic"]]} for r in records]


async def deliveries(settings: NotifySettings) -> list[dict[str, Any]]:
    """The recorded outcome of every finished delivery."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongo.url.get_secret_value(), tz_aware=True
    )
    try:
        collection = client[settings.mongo.database][OUTCOMES]
        return [unpacked_document(d) async for d in collection.find({})]
    finally:
        await client.close()


async def settle(seconds: float = 1.5) -> None:
    """Give retries and redeliveries time to do anything they would wrongly do."""
    await asyncio.sleep(seconds)
