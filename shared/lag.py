"""Consumer lag on ``/metrics``: how far each of this instance's partitions is behind.

aiokafka knows, without a request to the broker, the high watermark of every assigned
partition (from the last fetch) and the position of the next record to fetch; their
difference is the lag an operator watches to see a service falling behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from prometheus_client import Gauge

log = logging.getLogger(__name__)

CONSUMER_LAG = Gauge(
    "gongzhi_consumer_lag_records",
    "Records on an assigned partition not yet fetched by this instance "
    "(high watermark minus position, as of the last fetch).",
    ["service", "topic", "partition"],
)


def consumers_of(broker: Any) -> list[AIOKafkaConsumer]:
    """The running aiokafka consumers behind a FastStream Kafka broker's subscribers."""
    found: list[AIOKafkaConsumer] = []
    for subscriber in broker.subscribers:
        group = getattr(subscriber, "consumer_subgroup", None) or [
            getattr(subscriber, "consumer", None)
        ]
        found.extend(c for c in group if isinstance(c, AIOKafkaConsumer))
    return found


async def record_lag(service: str, consumers: Iterable[AIOKafkaConsumer]) -> set[tuple[str, str]]:
    """Set the gauge for every assigned partition; the (topic, partition) labels set."""
    seen: set[tuple[str, str]] = set()
    for consumer in consumers:
        for partition in consumer.assignment():
            high = consumer.highwater(partition)
            if high is None:  # nothing fetched yet
                continue
            # Only waits while a rebalance settles the position: skip it this round.
            with contextlib.suppress(TimeoutError, KafkaError):
                position = await asyncio.wait_for(consumer.position(partition), timeout=1.0)
                labels = (partition.topic, str(partition.partition))
                CONSUMER_LAG.labels(service, *labels).set(max(high - position, 0))
                seen.add(labels)
    return seen


async def watch_lag(service: str, broker: Any, interval: float = 5.0) -> None:
    """Keep the gauge current; partitions given up in a rebalance lose their series."""
    shown: set[tuple[str, str]] = set()
    while True:
        try:
            current = await record_lag(service, consumers_of(broker))
            for labels in shown - current:
                with contextlib.suppress(KeyError):
                    CONSUMER_LAG.remove(service, *labels)
            shown = current
        except Exception:
            log.exception("measuring consumer lag failed; will retry")
        await asyncio.sleep(interval)
