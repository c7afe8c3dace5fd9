"""The HTTP endpoints every service serves: ``/health`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

HealthCheck = Callable[[], Awaitable[bool]]


def operations_router(service: str, checks: dict[str, HealthCheck]) -> APIRouter:
    """``/health`` answers 200 only when every dependency check passes."""
    router = APIRouter(tags=["operations"])

    @router.get("/health")
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

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
