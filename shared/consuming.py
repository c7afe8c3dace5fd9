"""Consumer discipline: how every subscriber handles one Kafka record.

- A failure that retrying cannot fix (undecodable, wrong schema, PermanentError) is
  parked on ``dlq.<service>`` with provenance, and the partition moves on.
- A transient failure (MongoDB or Kafka briefly away) is retried in place with
  capped exponential backoff, so the failed record is never skipped.
- Any other error is retried a few times, then parked.
The caller commits the offset only after this returns (FastStream ``AckPolicy``)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from pydantic import ValidationError
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout

from shared.broker import MAX_MESSAGE_BYTES, publish_dead_letter
from shared.metrics import HANDLED, HANDLER_SECONDS

log = logging.getLogger(__name__)


class PermanentError(Exception):
    """Retrying cannot fix this message: park it with the reason."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    AutoReconnect,
    NetworkTimeout,
    KafkaError,
    ConnectionError,
    TimeoutError,
)

UNEXPECTED_ERROR_ATTEMPTS = 5


def backoff_seconds(attempt: int, *, base: float = 0.2, cap: float = 5.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


class RecordInfo:
    """Where a record came from, for dead letters and logs."""

    __slots__ = ("key", "offset", "partition", "topic")

    def __init__(self, topic: str, partition: int, offset: int, key: bytes | None) -> None:
        self.topic, self.partition, self.offset, self.key = topic, partition, offset, key

    @classmethod
    def of(cls, raw: Any) -> RecordInfo:
        """From an aiokafka ConsumerRecord."""
        return cls(raw.topic, raw.partition, raw.offset, raw.key)


async def handle_record(
    body: bytes,
    record: RecordInfo,
    handler: Callable[[bytes], Awaitable[None]],
    *,
    broker: KafkaBroker,
    service: str,
    dead_letter_topic: str,
    on_permanent: Callable[[bytes, RecordInfo, str], Awaitable[None]] | None = None,
) -> None:
    """Run ``handler`` on one record under the discipline described above.

    ``on_permanent`` replaces the dead letter where the sender must hear back
    (intake answers refused ingress messages with ``complaints.rejected``)."""
    started = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        try:
            if len(body) > MAX_MESSAGE_BYTES:
                raise PermanentError(f"message of {len(body)} bytes is over {MAX_MESSAGE_BYTES}")
            await handler(body)
            HANDLED.labels(service, record.topic, "ok").inc()
            break
        except (ValidationError, PermanentError, UnicodeDecodeError, ValueError) as exc:
            reason = _describe(exc)
            if on_permanent is not None:
                await on_permanent(body, record, reason)
                HANDLED.labels(service, record.topic, "rejected").inc()
            else:
                await _park(broker, service, dead_letter_topic, body, record, reason, attempt)
            break
        except TRANSIENT_ERRORS as exc:
            HANDLED.labels(service, record.topic, "retried").inc()
            delay = backoff_seconds(attempt)
            log.warning(
                "transient failure, retrying in place",
                extra={"topic": record.topic, "offset": record.offset, "error": repr(exc)[:300]},
            )
            await asyncio.sleep(delay)
        except Exception as exc:
            if attempt >= UNEXPECTED_ERROR_ATTEMPTS:
                log.exception("giving up on record", extra={"offset": record.offset})
                await _park(
                    broker, service, dead_letter_topic, body, record, _describe(exc), attempt
                )
                break
            HANDLED.labels(service, record.topic, "retried").inc()
            await asyncio.sleep(backoff_seconds(attempt))
    HANDLER_SECONDS.labels(service, record.topic).observe(time.perf_counter() - started)


async def _park(
    broker: KafkaBroker,
    service: str,
    topic: str,
    body: bytes,
    record: RecordInfo,
    error: str,
    attempts: int,
) -> None:
    HANDLED.labels(service, record.topic, "dead_lettered").inc()
    await publish_dead_letter(
        broker,
        topic=topic,
        service=service,
        body=body,
        key=record.key,
        origin_topic=record.topic,
        origin_partition=record.partition,
        origin_offset=record.offset,
        error=error,
        attempts=attempts,
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<body>'}: {err['msg']}"
            for err in exc.errors()
        )
    return f"{type(exc).__name__}: {exc}"
