"""Consumer discipline: how every subscriber handles one consumed batch.

A service's handler takes the whole batch and does its work in memory, writing each
collection once and sending the batch's events together. The discipline around it:

- records the handler cannot use at all (too large, undecodable, wrong schema) come
  back from it as ``Refusal``s: they are parked on ``dlq.<service>`` with provenance,
  or answered where the sender must hear back (intake's ``complaints.rejected``), and
  the partition moves on;
- a transient failure (MongoDB or Kafka briefly away) retries the whole batch in
  place with capped exponential backoff, so no record is ever skipped; the handlers
  are idempotent, so the retry redoes nothing twice;
- any other failure is taken as a poisoned batch: the records are handled one at a
  time, each under the same rules, so one bad record is parked after a few attempts
  and the others still go through.
The caller commits the offsets only after this returns (FastStream ``AckPolicy``)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from pydantic import ValidationError
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout

from shared.broker import MAX_MESSAGE_BYTES, dead_letter_body, dead_letter_headers
from shared.metrics import BATCH_RECORDS, HANDLED, HANDLER_SECONDS

log = logging.getLogger(__name__)

T = TypeVar("T")


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
UNUSABLE_ERRORS: tuple[type[BaseException], ...] = (
    ValidationError,
    PermanentError,
    UnicodeDecodeError,
    ValueError,
)
"""What decoding a record raises when the record itself is wrong."""

UNEXPECTED_ERROR_ATTEMPTS = 5


def backoff_seconds(attempt: int, *, base: float = 0.2, cap: float = 5.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


class Record(Protocol):
    """What the discipline reads of an aiokafka ``ConsumerRecord``."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True)
class Origin:
    """Where a record came from, for dead letters, refusals and logs."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None

    @classmethod
    def of(cls, record: Record) -> Origin:
        return cls(record.topic, record.partition, record.offset, record.key)


@dataclass(frozen=True)
class Refusal:
    """A record the handler cannot use, and why (retrying will not change it)."""

    origin: Origin
    body: bytes
    reason: str


def describe(exc: BaseException) -> str:
    """A reason a sender or operator can act on: field errors by location."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<body>'}: {err['msg']}"
            for err in exc.errors()
        )
    return f"{type(exc).__name__}: {exc}"


def decode_each(
    records: Sequence[Record], parse: Callable[[Record], T]
) -> tuple[list[tuple[Origin, T]], list[Refusal]]:
    """Each record parsed, or refused with the reason (in batch order)."""
    decoded: list[tuple[Origin, T]] = []
    refused: list[Refusal] = []
    for record in records:
        origin = Origin.of(record)
        body = record.value or b""
        if len(body) > MAX_MESSAGE_BYTES:
            refused.append(
                Refusal(origin, body, f"message of {len(body)} bytes is over {MAX_MESSAGE_BYTES}")
            )
            continue
        try:
            decoded.append((origin, parse(record)))
        except UNUSABLE_ERRORS as exc:
            refused.append(Refusal(origin, body, describe(exc)))
    return decoded, refused


BatchHandler = Callable[[Sequence[Record]], Awaitable[Sequence[Refusal]]]
RefusalAnswer = Callable[[Sequence[Refusal]], Awaitable[None]]


@dataclass
class Discipline:
    """One service's rules for a consumed batch (see the module docstring).

    ``answer_refusals`` replaces the dead letter where the sender must hear back."""

    broker: KafkaBroker
    service: str
    dead_letter_topic: str
    answer_refusals: RefusalAnswer | None = None

    async def run(self, records: Sequence[Record], handler: BatchHandler) -> None:
        if not records:
            return
        started = time.perf_counter()
        topic = records[0].topic
        BATCH_RECORDS.labels(self.service).observe(len(records))
        try:
            await self._whole(records, handler)
        except _PoisonedBatchError:
            log.warning(
                "batch failed; handling its records one at a time",
                extra={"topic": topic, "records": len(records)},
            )
            for record in records:
                await self._alone(record, handler)
        HANDLER_SECONDS.labels(self.service, topic).observe(time.perf_counter() - started)

    async def _whole(self, records: Sequence[Record], handler: BatchHandler) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                refused = await handler(records)
            except TRANSIENT_ERRORS as exc:
                await self._wait_transient(records, exc, attempt)
                continue
            except Exception as exc:
                if len(records) == 1:
                    raise
                log.exception("batch handler raised", extra={"records": len(records)})
                raise _PoisonedBatchError from exc
            await self._settle(records, refused)
            return

    async def _alone(self, record: Record, handler: BatchHandler) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._whole([record], handler)
                return
            except Exception as exc:
                if attempt >= UNEXPECTED_ERROR_ATTEMPTS:
                    log.exception("giving up on record", extra={"offset": record.offset})
                    origin = Origin.of(record)
                    await self.park([Refusal(origin, record.value or b"", describe(exc))], attempt)
                    return
                HANDLED.labels(self.service, record.topic, "retried").inc()
                await asyncio.sleep(backoff_seconds(attempt))

    async def _wait_transient(
        self, records: Sequence[Record], exc: BaseException, attempt: int
    ) -> None:
        for record in records:
            HANDLED.labels(self.service, record.topic, "retried").inc()
        log.warning(
            "transient failure, retrying the batch in place",
            extra={"records": len(records), "error": repr(exc)[:300]},
        )
        await asyncio.sleep(backoff_seconds(attempt))

    async def _settle(self, records: Sequence[Record], refused: Sequence[Refusal]) -> None:
        refused_at = {(r.origin.topic, r.origin.partition, r.origin.offset) for r in refused}
        for record in records:
            if (record.topic, record.partition, record.offset) not in refused_at:
                HANDLED.labels(self.service, record.topic, "ok").inc()
        if not refused:
            return
        if self.answer_refusals is not None:
            await retry_transient(lambda: self._answer(refused))
            for refusal in refused:
                HANDLED.labels(self.service, refusal.origin.topic, "rejected").inc()
        else:
            await retry_transient(lambda: self.park(refused, 1))

    async def _answer(self, refused: Sequence[Refusal]) -> None:
        assert self.answer_refusals is not None
        await self.answer_refusals(refused)

    async def park(self, refused: Sequence[Refusal], attempts: int) -> None:
        """Dead-letter ``refused`` with provenance, all sent before any is awaited."""
        sends: list[asyncio.Future[Any]] = []
        for refusal in refused:
            HANDLED.labels(self.service, refusal.origin.topic, "dead_lettered").inc()
            origin = refusal.origin
            sends.append(
                await self.broker.publish(
                    dead_letter_body(refusal.body),
                    topic=self.dead_letter_topic,
                    key=origin.key,
                    headers=dead_letter_headers(
                        service=self.service,
                        origin_topic=origin.topic,
                        origin_partition=origin.partition,
                        origin_offset=origin.offset,
                        error=refusal.reason,
                        attempts=attempts,
                    ),
                    no_confirm=True,
                )
            )
            log.warning(
                "dead-lettered",
                extra={"origin_topic": origin.topic, "offset": origin.offset},
            )
        await asyncio.gather(*sends)


class _PoisonedBatchError(Exception):
    """The batch failed for a reason that is neither transient nor a refusal."""


async def retry_transient(operation: Callable[[], Awaitable[T]]) -> T:
    """Retry in place while MongoDB or Kafka is briefly away (background loops)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await operation()
        except TRANSIENT_ERRORS as exc:
            log.warning(
                "transient failure, retrying", extra={"attempt": attempt, "error": repr(exc)[:300]}
            )
            await asyncio.sleep(backoff_seconds(attempt))
