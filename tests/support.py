"""Helpers for tests that talk to the real broker and database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

# Re-exported: tests import these from here.
from devtools.infra import Infra as Infra
from devtools.infra import start_local_infra as start_local_infra
from devtools.infra import stop_local_infra as stop_local_infra
from devtools.loopback import free_port as free_port
from devtools.loopback import produce as produce
from devtools.stack import ServiceProcess

REPO = Path(__file__).resolve().parent.parent


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def lone_service(
    infra: Infra, name: str, log_dir: Path, **env: str
) -> Iterator[tuple[ServiceProcess, str]]:
    """One service process on topics and a database of its own (two partitions), for
    tests that drive a single door; yields the process and its topic prefix."""
    prefix = unique_name(name[:2]) + "."
    service = ServiceProcess(
        name=name,
        port=free_port(),
        env=infra.service_env(
            KAFKA_TOPIC_PREFIX=prefix,
            KAFKA_TOPIC_PARTITIONS="2",
            MONGODB_DATABASE=unique_name(name[:2]),
            GONGZHI_ENVIRONMENT="test",
            **env,
        ),
        log_path=log_dir / f"{name}.log",
    )
    service.start()
    service.wait_healthy()
    try:
        yield service, prefix
    finally:
        service.terminate()


async def collect(
    bootstrap: str,
    topics: list[str],
    *,
    until: Any,
    timeout: float = 60.0,
    committed_only: bool = False,
) -> list[dict[str, Any]]:
    """Read ``topics`` from the beginning until ``until(records)`` is true or time runs out.

    Each record is ``{"topic", "partition", "offset", "key", "value" (parsed JSON or raw
    bytes), "headers"}``. ``committed_only`` reads as a read_committed consumer does
    (records of aborted Kafka transactions left out)."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed" if committed_only else "read_uncommitted",
    )
    await consumer.start()
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not until(records):
            batch = await consumer.getmany(timeout_ms=500)
            for items in batch.values():
                for item in items:
                    try:
                        value: Any = json.loads(item.value)
                    except ValueError:
                        value = item.value
                    records.append(
                        {
                            "topic": item.topic,
                            "partition": item.partition,
                            "offset": item.offset,
                            "key": item.key.decode() if item.key else None,
                            "value": value,
                            "headers": {k: v.decode() for k, v in item.headers},
                        }
                    )
    finally:
        await consumer.stop()
    return records


async def wait_for(predicate: Any, *, timeout: float = 60.0, interval: float = 0.25) -> Any:
    """Await ``predicate()`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def python() -> str:
    return sys.executable


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Run an ASGI app's lifespan in-process and give an HTTP client for it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
