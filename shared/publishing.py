"""Sending a batch's events together: each is handed to the producer without waiting
for it, and the batch then waits once for every acknowledgement.

Awaiting each send on its own would wait out the producer's linger once per event;
this way a batch of hundreds costs one linger and a few produce requests. Nothing is
committed (offsets, HTTP answers) before ``wait`` returns, so a failed send fails the
batch, which is then retried whole: the events carry ids derived from their cause and
consumers drop the copies."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from shared.metrics import PUBLISHED


class Publisher(Protocol):
    """A FastStream Kafka publisher (``broker.publisher(...)``)."""

    async def publish(
        self,
        message: Any,
        topic: str = ...,
        *,
        key: bytes | Any | None = ...,
        headers: dict[str, str] | None = ...,
        no_confirm: bool = ...,
    ) -> Any: ...


class ToTopic:
    """A topic reached through the broker itself, for what has no declared publisher in
    the AsyncAPI document (dead letters carry whatever message was parked)."""

    def __init__(self, broker: Any, topic: str) -> None:
        self.broker, self.topic = broker, topic

    async def publish(
        self,
        message: Any,
        topic: str = "",
        *,
        key: bytes | Any | None = None,
        headers: dict[str, str] | None = None,
        no_confirm: bool = False,
    ) -> Any:
        return await self.broker.publish(
            message, topic=topic or self.topic, key=key, headers=headers, no_confirm=no_confirm
        )


class Sends:
    """The events of one batch (or one group of HTTP requests) on their way out."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._pending: list[asyncio.Future[Any]] = []

    def __len__(self) -> int:
        return len(self._pending)

    async def add(
        self,
        publisher: Publisher,
        topic: str,
        body: bytes,
        key: str | bytes | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Hand one event to the producer; ``topic`` is its public name (for metrics)."""
        encoded = key.encode() if isinstance(key, str) else key
        future = await publisher.publish(body, key=encoded, headers=headers, no_confirm=True)
        self._pending.append(future)
        PUBLISHED.labels(self.service, topic).inc()

    async def wait(self) -> None:
        """Until the broker acknowledged every event added (acks=all)."""
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)
