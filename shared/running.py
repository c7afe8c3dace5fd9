"""The part of a service's lifespan that every consuming service shares."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from shared.http import stop_tasks
from shared.lag import watch_lag

BackgroundLoop = Callable[[], Coroutine[Any, Any, None]]


@contextlib.asynccontextmanager
async def background(*loops: BackgroundLoop) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run loops for the duration of the block, stopping them (for good) on the way out."""
    tasks = [asyncio.create_task(loop()) for loop in loops]
    try:
        yield tasks
    finally:
        await stop_tasks(*tasks)


@contextlib.asynccontextmanager
async def consuming(
    service: str,
    broker: KafkaBroker,
    mongo: AsyncMongoClient[Any],
    *loops: BackgroundLoop,
) -> AsyncIterator[None]:
    """Start the broker, the service's background loops and the lag watcher.

    On the way out the order matters: the loops stop first because they publish through
    the broker; then the broker, which commits what its handlers finished; the database
    client closes last because both of them write through it."""
    await broker.start()
    tasks = [asyncio.create_task(loop()) for loop in loops]
    tasks.append(asyncio.create_task(watch_lag(service, broker)))
    try:
        yield
    finally:
        await stop_tasks(*tasks)
        await broker.stop()
        await mongo.close()
