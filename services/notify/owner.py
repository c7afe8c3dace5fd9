"""The owner of notify's deliveries: it attempts the deliveries it recorded or took over
with their partition, and records and reports outcomes in bulk.

- A consumed batch of triggers becomes deliveries claimed with one insert per
  collection (``store.claim``); the offsets are committed once they are recorded.
- Each delivery this instance holds is attempted by a task of its own, retried with
  backoff in memory. Attempts are bounded per destination (host, SMTP server) and in
  all, so a dead receiver never holds up the other responders.
- Outcomes gather for a few milliseconds, then are recorded (one insert), reported on
  ``notifications.*`` and, for failures, ``dlq.notify`` (one flush), and their open
  markers removed (one delete command).
- A new owner of a partition loads its open deliveries and continues their attempt
  count; one that may already have gone out before its old owner died is counted in
  ``resends`` (the receiver sees its delivery id twice)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from services.notify.channels.base import DeliveryError
from services.notify.channels.dispatch import ChannelSender
from services.notify.metrics import ATTEMPTS, DELIVERIES, RESENDS
from services.notify.planning import NO_CHANNEL, PlannedDelivery, find_channel
from services.notify.rendering import Renderer
from services.notify.settings import NotifySettings
from services.notify.store import FAILED, SENT, DeliveryStore
from services.notify.triggers import Trigger
from shared.consuming import Origin, retry_transient
from shared.directory import Directory
from shared.events import NotificationFailed, NotificationReason, NotificationSent
from shared.ids import stable_id
from shared.mongo import Document, now_ms
from shared.privacy import scrub_phones

log = logging.getLogger(__name__)


class OutcomePublisher(Protocol):
    async def report(self, outcomes: Sequence[Document]) -> None:
        """Publish each outcome (and dead-letter each failure), then wait for all."""


def withheld(error: DeliveryError, disclosed: tuple[str, ...]) -> DeliveryError:
    """The error without the reporter's contact: it is stored, logged and published on
    notifications.failed, where the alert's reader is not the only reader."""
    reason = error.reason
    for part in disclosed:
        reason = reason.replace(part, "***")
    return error if reason == error.reason else DeliveryError(reason, permanent=error.permanent)


def retry_delay(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff with jitter: between half and all of ``base * 2**(attempt-1)``."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def outcome_event(document: Document) -> NotificationSent | NotificationFailed:
    """The event that reports a recorded outcome; the same document gives the same event."""
    common = {
        "complaint_id": document["complaint_id"],
        "delivery_id": document["_id"],
        "responder_id": document["responder_id"],
        "channel": document["channel"],
        "reason": NotificationReason(document["reason"]),
        "trigger_event_id": document["trigger_event_id"],
        "attempts": max(int(document["attempts"]), 1),
        "hotspot_id": document["complaint_id"]
        if document["reason"] == NotificationReason.HOTSPOT
        else None,
    }
    if document["state"] == SENT:
        return NotificationSent(
            event_id=stable_id(document["_id"], SENT), occurred_at=document["at"], **common
        )
    return NotificationFailed(
        event_id=stable_id(document["_id"], FAILED),
        occurred_at=document["at"],
        error=document["last_error"] or "failed",
        permanent=bool(document["permanent"]),
        **common,
    )


@dataclass
class Delivery:
    """One delivery this instance holds, as it goes."""

    document: Document
    partition: int
    attempts: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    resends: int = 0
    task: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return str(self.document["_id"])


@dataclass(frozen=True)
class Planned:
    """A delivery a consumed trigger calls for, with where the trigger came from."""

    delivery: PlannedDelivery
    trigger: Trigger
    origin: Origin


class Notifier:
    def __init__(
        self,
        *,
        settings: NotifySettings,
        directory: Directory,
        store: DeliveryStore,
        sender: ChannelSender,
        renderer: Renderer,
        publisher: OutcomePublisher,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.store = store
        self.sender = sender
        self.renderer = renderer
        self.publisher = publisher
        self.lock = asyncio.Lock()
        self.held: set[int] = set()
        self.holding: dict[str, Delivery] = {}
        self._slots = asyncio.Semaphore(settings.delivery_concurrency)
        self._destinations: dict[str, asyncio.Semaphore] = {}
        self._finished: list[tuple[Delivery, Document]] = []
        self._retries: list[Document] = []
        self._flush_now = asyncio.Event()

    # -- ownership ----------------------------------------------------------------------

    async def take(self, partitions: set[int]) -> None:
        taken = await self.store.take(partitions, self.settings.delivery_max_attempts)
        self.held |= partitions
        if taken.finished:
            # Recorded, but the owner died before reporting or closing them.
            await self.publisher.report(taken.finished)
            await self.store.close([str(d["_id"]) for d in taken.finished])
        for document, attempts in taken.open:
            delivery = Delivery(
                document,
                int(document["partition"]),
                attempts=len(attempts),
                history=[
                    {
                        "attempt": a["attempt"],
                        "at": a["at"],
                        "outcome": "retry",
                        "error": a["error"],
                    }
                    for a in attempts
                ],
                # The old owner may have been attempting it when it stopped.
                resends=1,
            )
            RESENDS.labels(document["channel"]).inc()
            self._start(delivery)
        log.info(
            "partitions taken",
            extra={"partitions": sorted(partitions), "open_deliveries": len(taken.open)},
        )

    async def give_up(self, partitions: set[int]) -> None:
        self.held -= partitions
        leaving = [d for d in self.holding.values() if d.partition in partitions]
        for delivery in leaving:
            if delivery.task is not None:
                delivery.task.cancel()
        await asyncio.gather(*(d.task for d in leaving if d.task), return_exceptions=True)
        for delivery in leaving:
            self.holding.pop(delivery.id, None)
        await self.flush()

    # -- accepting triggers -----------------------------------------------------------

    async def accept(self, planned: Sequence[tuple[int, Planned]]) -> int:
        """Record and start the deliveries a batch of triggers calls for; how many are new
        (the others were recorded before, by this instance or another)."""
        now = now_ms()
        # A trigger alerts a responder over each of its channels: serialised once.
        stored_triggers: dict[int, str] = {}

        def stored(trigger: Trigger) -> str:
            if id(trigger) not in stored_triggers:
                stored_triggers[id(trigger)] = trigger.model_dump_json()
            return stored_triggers[id(trigger)]

        documents = {
            p.delivery.delivery_id: (
                partition,
                self.store.delivery_document(
                    p.delivery,
                    p.trigger,
                    p.origin,
                    partition=partition,
                    now=now,
                    stored_trigger=stored(p.trigger),
                ),
            )
            for partition, p in planned
            if p.delivery.delivery_id not in self.holding
        }
        mine = await self.store.claim([doc for _, doc in documents.values()])
        for delivery_id in mine:
            partition, document = documents[delivery_id]
            self._start(Delivery(document, partition))
        return len(mine)

    # -- attempts -----------------------------------------------------------------------

    def _start(self, delivery: Delivery) -> None:
        self.holding[delivery.id] = delivery
        delivery.task = asyncio.create_task(self._deliver(delivery))

    async def _deliver(self, delivery: Delivery) -> None:
        document = delivery.document
        channel = None
        if document["channel"] != NO_CHANNEL:
            channel = find_channel(
                self.directory, document["responder_id"], document["channel_key"]
            )
        destination = self.sender.destination(channel)
        gate = self._destinations.setdefault(
            destination, asyncio.Semaphore(self.settings.per_destination_concurrency)
        )
        while True:
            delivery.attempts += 1
            # The destination's share first: waiting for a dead receiver must not hold
            # one of the slots every destination shares.
            async with gate, self._slots:
                error = await self._attempt(delivery, channel)
            at = now_ms()
            if error is None:
                ATTEMPTS.labels(document["channel"], "sent").inc()
                self._finish(delivery, SENT, at)
                return
            last = delivery.attempts >= self.settings.delivery_max_attempts
            if error.permanent or last:
                ATTEMPTS.labels(document["channel"], "failed").inc()
                self._finish(delivery, FAILED, at, error)
                return
            ATTEMPTS.labels(document["channel"], "retry").inc()
            self._retry(delivery, at, error)
            await asyncio.sleep(
                retry_delay(
                    delivery.attempts,
                    base=self.settings.delivery_retry_base_seconds,
                    cap=self.settings.delivery_retry_cap_seconds,
                )
            )

    async def _attempt(self, delivery: Delivery, channel: Any) -> DeliveryError | None:
        document = delivery.document
        disclosed: tuple[str, ...] = ()
        try:
            responder = self.directory.responders_by_id.get(document["responder_id"])
            if document["channel"] != NO_CHANNEL and channel is None:
                raise DeliveryError("channel no longer in the directory", permanent=True)
            if document["channel"] == NO_CHANNEL and responder is None:
                raise DeliveryError("responder not in the directory", permanent=True)
            trigger = self.store.trigger_of(document)
            message = self.renderer.render(trigger, responder, self.directory, delivery.id)
            disclosed = message.disclosed
            await self.sender.send(channel, message, delivery.id)
        except DeliveryError as exc:
            return withheld(exc, disclosed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A broken template or directory entry: retried like a transient failure, so
            # a fix deployed within the attempts still delivers.
            log.exception("delivery attempt raised", extra={"delivery_id": delivery.id})
            return withheld(
                DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False), disclosed
            )
        return None

    def _retry(self, delivery: Delivery, at: datetime, error: DeliveryError) -> None:
        entry = {"attempt": delivery.attempts, "at": at, "outcome": "retry", "error": error.reason}
        delivery.history.append(entry)
        self._retries.append(
            {"_id": f"{delivery.id}#{delivery.attempts}", "delivery_id": delivery.id, **entry}
        )
        log.info(
            "delivery will be retried",
            extra={"delivery_id": delivery.id, "attempt": delivery.attempts, "error": error.reason},
        )

    def _finish(
        self, delivery: Delivery, state: str, at: datetime, error: DeliveryError | None = None
    ) -> None:
        document = delivery.document
        entry: dict[str, Any] = {"attempt": delivery.attempts, "at": at, "outcome": state}
        if error is not None:
            entry |= {"error": error.reason, "permanent": error.permanent}
        delivery.history.append(entry)
        outcome = {
            "_id": delivery.id,
            "complaint_id": document["complaint_id"],
            "responder_id": document["responder_id"],
            "channel": document["channel"],
            "reason": document["reason"],
            "trigger_event_id": document["trigger_event_id"],
            "origin": document["origin"],
            "state": state,
            "attempts": delivery.attempts,
            "resends": delivery.resends,
            "history": delivery.history,
            "last_error": None if error is None else scrub_phones(error.reason),
            "permanent": None if error is None else error.permanent,
            "at": at,
        }
        DELIVERIES.labels(
            document["channel"],
            SENT
            if error is None
            else ("failed_permanent" if error.permanent else "failed_exhausted"),
        ).inc()
        self._finished.append((delivery, outcome))
        if len(self._finished) >= self.settings.outcome_batch:
            self._flush_now.set()

    # -- recording outcomes ---------------------------------------------------------------

    async def flush(self) -> None:
        """Record, report and close the outcomes gathered so far."""
        finished, self._finished = self._finished, []
        retries, self._retries = self._retries, []
        if retries:
            await retry_transient(lambda: self.store.record_attempts(retries))
        if not finished:
            return
        outcomes = [outcome for _, outcome in finished]
        await retry_transient(lambda: self.store.record_outcomes(outcomes))
        await retry_transient(lambda: self.publisher.report(outcomes))
        await retry_transient(lambda: self.store.close([d.id for d, _ in finished]))
        for delivery, _ in finished:
            if self.holding.get(delivery.id) is delivery:
                del self.holding[delivery.id]

    async def run_flusher(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._flush_now.wait(), timeout=self.settings.outcome_flush_seconds
                )
            self._flush_now.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("recording outcomes failed; will retry")

    async def drain(self, timeout: float) -> None:
        """Let attempts in flight finish (cancel what is left), then record them."""
        tasks = [d.task for d in self.holding.values() if d.task and not d.task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        await self.flush()
