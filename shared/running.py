"""The part of a service's lifespan that every consuming service shares."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from shared.collector import settle_garbage_collector
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
    drain: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[None]:
    """Start the broker, the service's background loops and the lag watcher, and settle
    the garbage collector (``shared.collector``) now that start-up is done.

    On the way out the order matters: the loops stop first because they publish through
    the broker; then, with ``drain``, the subscribers stop taking work and ``drain``
    finishes what is in flight (it may still publish and write); then the broker, which
    commits what its handlers finished; the database client closes last because all of
    them write through it."""
    await broker.start()
    settle_garbage_collector()
    tasks = [asyncio.create_task(loop()) for loop in loops]
    tasks.append(asyncio.create_task(watch_lag(service, broker)))
    try:
        yield
    finally:
        await stop_tasks(*tasks)
        if drain is not None:
            for subscriber in broker.subscribers:
                await subscriber.stop()
            await drain()
        await broker.stop()
        await mongo.close()
