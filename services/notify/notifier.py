"""The delivery loop: accept triggers, attempt deliveries concurrently, retry with
backoff, and report every outcome.

A trigger is accepted once its deliveries are recorded (the Kafka offset may then be
committed); the attempts run as tasks under a concurrency bound, so a slow or dead
receiver never holds up another complaint's alert. Retries are picked up by the retry
worker of any instance, through the store's claims."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from datetime import timedelta
from typing import Protocol

from services.notify.channels.base import DeliveryError
from services.notify.channels.dispatch import ChannelSender
from services.notify.metrics import ATTEMPTS, DELIVERIES, RESENDS
from services.notify.planning import NO_CHANNEL, find_channel, plan_deliveries
from services.notify.rendering import Renderer
from services.notify.settings import NotifySettings
from services.notify.store import FAILED, SENT, DeliveryStore, Origin
from services.notify.triggers import Trigger
from shared.directory import Directory
from shared.events import NotificationFailed, NotificationReason, NotificationSent
from shared.ids import stable_id
from shared.mongo import Document, now_ms

log = logging.getLogger(__name__)


class OutcomePublisher(Protocol):
    async def sent(self, event: NotificationSent) -> None: ...
    async def failed(self, event: NotificationFailed) -> None: ...
    async def dead_letter(self, document: Document, error: str, attempts: int) -> None: ...


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
    }
    if document["state"] == SENT:
        return NotificationSent(
            event_id=stable_id(document["_id"], SENT),
            occurred_at=document["sent_at"],
            **common,
        )
    return NotificationFailed(
        event_id=stable_id(document["_id"], FAILED),
        occurred_at=document["failed_at"],
        error=document["last_error"] or "failed",
        permanent=bool(document["permanent"]),
        **common,
    )


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
        self.owner = f"notify-{uuid.uuid4().hex[:12]}"
        self._slots = asyncio.Semaphore(settings.delivery_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[str] = set()

    async def accept(self, trigger: Trigger, origin: Origin) -> int:
        """Record the trigger's deliveries and start them; returns how many are new."""
        now = now_ms()
        handoff = timedelta(seconds=self.settings.delivery_handoff_seconds)
        created = 0
        for planned in plan_deliveries(trigger, self.directory):
            document = await self.store.create(planned, trigger, origin, now=now, handoff=handoff)
            if document is not None:
                created += 1
            # Also after a redelivery: if the first copy died before its first attempt,
            # this one makes it now (the claim lets only one of them send).
            self._spawn(planned.delivery_id, first=True, created=document)
        log.info(
            "trigger accepted",
            extra={
                "complaint_id": trigger.complaint_id,
                "event_id": trigger.event_id,
                "reason": trigger.reason.value,
                "new_deliveries": created,
            },
        )
        return created

    def _spawn(self, delivery_id: str, *, first: bool, created: Document | None = None) -> None:
        if delivery_id in self._running:
            return
        self._running.add(delivery_id)
        task = asyncio.create_task(self._attempt_guarded(delivery_id, first=first, created=created))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt_guarded(
        self, delivery_id: str, *, first: bool, created: Document | None
    ) -> None:
        try:
            async with self._slots:
                await self.attempt(delivery_id, first=first, created=created)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and another attempt takes over (counted as a resend).
            log.exception("delivery attempt broke off", extra={"delivery_id": delivery_id})
        finally:
            self._running.discard(delivery_id)

    async def attempt(
        self, delivery_id: str, *, first: bool = False, created: Document | None = None
    ) -> None:
        claim = await self.store.claim(
            delivery_id, self.owner, now=now_ms(), first=first, created=created
        )
        if claim is None:
            return
        document = claim.document
        attempt = int(document["attempts"])
        context = {
            "delivery_id": delivery_id,
            "complaint_id": document["complaint_id"],
            "responder_id": document["responder_id"],
            "channel": document["channel"],
            "attempt": attempt,
        }
        if claim.took_over:
            RESENDS.labels(document["channel"]).inc()
            log.warning("taking over an attempt whose lease ran out", extra=context)
        try:
            await self._send(document)
        except DeliveryError as exc:
            await self._failed_attempt(document, exc.reason, exc.permanent, context)
        except Exception as exc:
            # A broken template or a bad directory entry: retried like a transient
            # failure, so a fix deployed within the attempts still delivers.
            log.exception("delivery attempt raised", extra=context)
            await self._failed_attempt(document, f"{type(exc).__name__}: {exc}", False, context)
        else:
            ATTEMPTS.labels(document["channel"], "sent").inc()
            finished = await self.store.record_sent(document, now_ms())
            if finished is not None:
                DELIVERIES.labels(document["channel"], "sent").inc()
                log.info("delivered", extra=context)
                await self._publish(finished)
            else:
                log.warning("delivered, but another attempt had taken over", extra=context)

    async def _send(self, document: Document) -> None:
        trigger = self.store.trigger_of(document)
        responder = self.directory.responders_by_id.get(document["responder_id"])
        channel = None
        if document["channel"] != NO_CHANNEL:
            channel = find_channel(
                self.directory, document["responder_id"], document["channel_key"]
            )
            if channel is None:
                raise DeliveryError("channel no longer in the directory", permanent=True)
        elif responder is None:
            raise DeliveryError("responder not in the directory", permanent=True)
        message = self.renderer.render(trigger, responder, self.directory, document["_id"])
        await self.sender.send(channel, message, document["_id"])

    async def _failed_attempt(
        self, document: Document, error: str, permanent: bool, context: dict[str, object]
    ) -> None:
        attempt = int(document["attempts"])
        now = now_ms()
        last = attempt >= self.settings.delivery_max_attempts
        if permanent or last:
            ATTEMPTS.labels(document["channel"], "failed").inc()
            finished = await self.store.record_failed(document, now, error, permanent=permanent)
            if finished is not None:
                DELIVERIES.labels(
                    document["channel"], "failed_permanent" if permanent else "failed_exhausted"
                ).inc()
                log.warning(
                    "delivery failed", extra={**context, "error": error, "permanent": permanent}
                )
                await self._publish(finished)
            return
        ATTEMPTS.labels(document["channel"], "retry").inc()
        delay = retry_delay(
            attempt,
            base=self.settings.delivery_retry_base_seconds,
            cap=self.settings.delivery_retry_cap_seconds,
        )
        await self.store.record_retry(document, now, error, now + timedelta(seconds=delay))
        log.info("delivery will be retried", extra={**context, "error": error, "in_seconds": delay})

    async def _publish(self, document: Document) -> None:
        """Publish a recorded outcome (and dead-letter a failure), then mark it published."""
        if document.get("outcome_published"):
            return
        event = outcome_event(document)
        if isinstance(event, NotificationFailed):
            await self.publisher.failed(event)
            await self.publisher.dead_letter(document, event.error, event.attempts)
        else:
            await self.publisher.sent(event)
        await self.store.mark_published(document["_id"])

    async def run_retries(self, stop: asyncio.Event) -> None:
        """The retry worker: attempts due deliveries and re-publishes stranded outcomes."""
        poll = self.settings.retry_poll_seconds
        relay_after = timedelta(seconds=self.settings.outcome_relay_after_seconds)
        while not stop.is_set():
            try:
                now = now_ms()
                work = await self.store.pending_work(
                    now, recorded_before=now - relay_after, limit=self.settings.delivery_concurrency
                )
                for delivery_id in work.due:
                    self._spawn(delivery_id, first=False)
                for document in work.outcomes:
                    await self._publish(document)
            except Exception:
                log.exception("retry worker pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll)

    async def drain(self, timeout: float) -> None:
        """Let running attempts finish; cancel what is left (their leases run out)."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
