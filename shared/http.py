"""The HTTP endpoints every service serves: ``/health`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from pymongo import AsyncMongoClient

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[bool]]


def dependency_checks(mongo: AsyncMongoClient[Any], broker: KafkaBroker) -> dict[str, HealthCheck]:
    """The health checks every service has: MongoDB answers a ping, Kafka is reachable."""

    async def mongo_up() -> bool:
        await mongo.admin.command("ping")
        return True

    async def kafka_up() -> bool:
        return await broker.ping(timeout=2.0)

    return {"mongodb": mongo_up, "kafka": kafka_up}


async def stop_tasks(*tasks: asyncio.Task[Any], nudge_seconds: float = 0.5) -> None:
    """Cancel background loops and wait until each has really stopped.

    One ``cancel()`` is not always enough: PyMongo's async client can swallow a
    cancellation that lands while it opens a connection (seen with 4.x on Python 3.11),
    and the loop then carries on as if nothing happened. So a task that is still running
    after ``nudge_seconds`` is cancelled again, until it ends."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=nudge_seconds)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "background task %s ended with an error", task.get_name(), exc_info=task.exception()
            )


class HealthReport(BaseModel):
    service: str
    status: Literal["ok", "degraded"]
    checks: dict[str, str] = Field(
        description="Each dependency: `ok`, `down`, or `down: <error type>`."
    )


PROMETHEUS_TEXT = "text/plain"
"""The media type of ``/metrics`` as documented; served with prometheus_client's exact
``Content-Type`` (``text/plain; version=...; charset=utf-8``)."""


def operations_router(service: str, checks: dict[str, HealthCheck]) -> APIRouter:
    """``/health`` answers 200 only when every dependency check passes."""
    router = APIRouter(tags=["operations"])

    @router.get(
        "/health",
        response_model=HealthReport,
        summary="Whether the service and its dependencies answer",
        responses={503: {"model": HealthReport, "description": "A dependency is down."}},
    )
    async def health() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                results[name] = "ok" if await check() else "down"
            except Exception as exc:
                results[name] = f"down: {type(exc).__name__}"
        healthy = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"service": service, "status": "ok" if healthy else "degraded", "checks": results},
            status_code=200 if healthy else 503,
        )

    @router.get(
        "/metrics",
        response_class=Response,
        summary="Prometheus metrics",
        description="The Prometheus text exposition format (not JSON).",
        responses={
            200: {
                "description": "Every metric of this process.",
                "content": {PROMETHEUS_TEXT: {"schema": {"type": "string"}}},
            }
        },
    )
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
