"""The four services under load: paced steps and a burst on ``ingress.complaints``,
then HTTP intake with concurrent clients.

A complaint is done when its webhook reached the bench's receiver, its e-mail reached
the bench's SMTP server, and stats counts it (``/v1/stats``: received, routed, and
both notifications sent). Latency runs from acceptance (the bench's producer took the
record, or intake answered 202) to the webhook's arrival. A complaint that routing
links as a duplicate is not alerted; the bench watches ``complaints.updated`` for
those links and reports them, since its complaints are all distinct."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient
from tqdm import tqdm

from devtools.bench.costs import (
    Commands,
    CpuMeter,
    CpuSample,
    commands_per_complaint,
    infra_pids,
    scrape_commands,
)
from devtools.bench.load import offer, post_all
from devtools.bench.report import summarise
from devtools.bench.sinks import LeanHttpReceiver, LeanSmtpReceiver
from devtools.infra import Infra
from devtools.loopback import free_port
from devtools.stack import Stack
from services.intake.settings import DEMO_API_KEY
from services.stats.periods import zone
from services.stats.settings import DEFAULT_TIMEZONE
from shared.ids import complaint_id_for
from shared.topics import COMPLAINTS_UPDATED, INGRESS_COMPLAINTS

DELIVERIES = 2
"""Alerts per complaint: the fallback desk's webhook and e-mail."""
DUPLICATE_LINKED = "duplicate_linked"
SERVICES = ("intake", "routing", "notify", "stats")
STATS_POLL_SECONDS = 0.5
STATS_TZ = zone(DEFAULT_TIMEZONE)


def months_between(start: datetime, end: datetime, tz: tzinfo) -> list[str]:
    """Every ``YYYY-MM`` from ``start``'s month to ``end``'s, in ``tz``."""
    first, last = start.astimezone(tz), end.astimezone(tz)
    year, month = first.year, first.month
    months = []
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@dataclass(frozen=True)
class Snapshot:
    cpu: CpuSample
    commands: Commands
    mails: int


class Pipeline:
    def __init__(self, infra: Infra, infra_root: Path, log_dir: Path, database: str) -> None:
        self.infra = infra
        self.infra_root = infra_root
        self.database = database
        self.prefix = f"bench{int(time.time())}."
        self.arrivals: dict[str, float] = {}
        self.linked: set[str] = set()
        self.webhooks = LeanHttpReceiver(on_request=self._alerted)
        self.smtp = LeanSmtpReceiver(on_mail=lambda _mail: None)
        self.offered = 0
        self.began = datetime.now(UTC)
        ports = {name: free_port() for name in SERVICES}
        self.stack = Stack(
            env=infra.service_env(
                KAFKA_TOPIC_PREFIX=self.prefix,
                MONGODB_DATABASE=database,
                GONGZHI_ENVIRONMENT="test",
                GONGZHI_ALERT_BASE_URL=self.webhooks.url,
                GONGZHI_WEBHOOK_SECRET="bench-secret",
                GONGZHI_SMTP_HOST="127.0.0.1",
                GONGZHI_SMTP_PORT=str(self.smtp.port),
                GONGZHI_RATE_PER_SECOND="100000",
                GONGZHI_RATE_BURST="100000",
                GONGZHI_LOG_LEVEL="WARNING",
            ),
            log_dir=log_dir,
            ports=ports,
        )
        for name in ("routing", "intake", "notify", "stats"):
            self.stack.add(name)
        self.meter = CpuMeter({})
        self.client = httpx.AsyncClient(timeout=30)
        self._watcher: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self.webhooks.start()
        await self.smtp.start()
        await asyncio.to_thread(self.stack.start_all)
        pids = {p.name: p.process.pid for p in self.stack.processes if p.process}
        self.meter = CpuMeter({**pids, **infra_pids(self.infra_root), "bench": os.getpid()})
        watcher = AIOKafkaConsumer(
            f"{self.prefix}{COMPLAINTS_UPDATED}",
            bootstrap_servers=self.infra.bootstrap_servers,
            auto_offset_reset="earliest",
        )
        await watcher.start()
        self._watcher = asyncio.create_task(self._watch_links(watcher))

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await asyncio.to_thread(self.stack.stop_all)
        await self.client.aclose()
        await self.webhooks.stop()
        await self.smtp.stop()

    def _alerted(self, _path: str, body: bytes, at: float) -> None:
        try:
            complaint_id = orjson.loads(body).get("complaint_id")
        except (orjson.JSONDecodeError, AttributeError):
            return
        if isinstance(complaint_id, str):
            self.arrivals.setdefault(complaint_id, at)

    async def _watch_links(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                fetched = await consumer.getmany(timeout_ms=500)
                for records in fetched.values():
                    for record in records:
                        with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
                            update = orjson.loads(record.value)
                            if update.get("type") == DUPLICATE_LINKED:
                                self.linked.add(str(update.get("complaint_id")))
        finally:
            await consumer.stop()

    # -- steps -------------------------------------------------------------------------

    async def kafka_step(
        self, rate: float | None, bodies: list[dict[str, Any]], timeout: float, stall: float
    ) -> dict[str, Any]:
        """Offer ``bodies`` on ingress.complaints at ``rate`` per second (None: at once)."""
        ids = [complaint_id_for(b["source"], b["source_ref"]) for b in bodies]
        records = [(f"{b['source']}:{b['source_ref']}".encode(), orjson.dumps(b)) for b in bodies]
        accepted: dict[str, float] = {}
        producer = AIOKafkaProducer(
            bootstrap_servers=self.infra.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        await producer.start()
        label = f"ingress {rate:g}/s" if rate is not None else "ingress burst"
        try:
            before = await self._snapshot()
            started = time.monotonic()
            sending = asyncio.create_task(
                offer(
                    producer,
                    f"{self.prefix}{INGRESS_COMPLAINTS}",
                    records,
                    rate,
                    on_sent=lambda index, at: accepted.__setitem__(ids[index], at),
                )
            )
            finished, counts = await self._wait_done(ids, sending, before, label, timeout, stall)
            await sending
        finally:
            await producer.stop()
        return await self._summary(
            "ingress", rate, ids, accepted, started, finished, before, counts
        )

    async def http_step(
        self, concurrency: int, bodies: list[dict[str, Any]], timeout: float, stall: float
    ) -> dict[str, Any]:
        """Post ``bodies`` to intake with ``concurrency`` clients as fast as it answers."""
        ids = [complaint_id_for(b["source"], b["source_ref"]) for b in bodies]
        accepted: dict[str, float] = {}
        intake = self.stack["intake"]

        def answered(index: int, _body: bytes, at: float) -> None:
            accepted[ids[index]] = at

        before = await self._snapshot()
        started = time.monotonic()
        posting = asyncio.create_task(
            post_all(
                "127.0.0.1",
                intake.port,
                "/v1/complaints",
                {
                    "authorization": f"Bearer {DEMO_API_KEY}",
                    "content-type": "application/json",
                },
                [orjson.dumps(b) for b in bodies],
                concurrency,
                answered,
            )
        )
        label = f"http x{concurrency}"
        finished, counts = await self._wait_done(ids, posting, before, label, timeout, stall)
        all_accepted = await posting
        summary = await self._summary(
            "http", None, ids, accepted, started, finished, before, counts
        )
        summary["load"] = f"x{concurrency}"
        summary["concurrency"] = concurrency
        summary["http_requests_per_s"] = round(len(ids) / max(all_accepted - started, 1e-9), 1)
        return summary

    async def _snapshot(self) -> Snapshot:
        commands = await scrape_commands(self.client, {p.name: p.url for p in self.stack.processes})
        return Snapshot(self.meter.sample(time.monotonic()), commands, self.smtp.mails)

    async def _wait_done(
        self,
        ids: list[str],
        sending: asyncio.Task[float],
        before: Snapshot,
        label: str,
        timeout: float,
        stall: float,
    ) -> tuple[float | None, dict[str, Any]]:
        """When every complaint was alerted (or linked) and counted, or None when that
        did not happen within ``timeout`` or nothing moved for ``stall`` seconds."""
        self.offered += len(ids)
        deadline = time.monotonic() + timeout
        last_move, last_seen = time.monotonic(), ""
        next_ask = 0.0
        counts: dict[str, Any] = {}
        with tqdm(total=len(ids), desc=label, unit="c", leave=False, disable=None) as bar:
            while True:
                if sending.done() and sending.exception() is not None:
                    sending.result()
                alerted = sum(1 for i in ids if i in self.arrivals)
                linked = sum(1 for i in ids if i in self.linked and i not in self.arrivals)
                mails = self.smtp.mails - before.mails
                bar.n = alerted + linked
                bar.refresh()
                now = time.monotonic()
                due = len(ids) - linked
                if sending.done() and alerted >= due and mails >= due and now >= next_ask:
                    # Asked seldom: each answer costs stats work the step is measuring.
                    next_ask = now + STATS_POLL_SECONDS
                    counts = await self._stats_counts()
                    if self._counted(counts):
                        return time.monotonic(), counts
                # Stats still counting is progress too.
                seen = f"{alerted} {linked} {mails} {sorted(counts.items())}"
                if seen != last_seen:
                    last_move, last_seen = now, seen
                if now > deadline or now - last_move > stall:
                    return None, counts
                await asyncio.sleep(0.2)

    async def _stats_counts(self) -> dict[str, Any]:
        """The city's running counts, summed over every month since the bench began.

        Read from the running tallies (``/v1/scopes/city:<month>``), not ``/v1/stats``:
        that one recounts the month from every stored complaint, a scan that grows with
        the run and would cost FerretDB more than the step it is checking."""
        counts: dict[str, Any] = {}
        for month in months_between(self.began, datetime.now(UTC), STATS_TZ):
            try:
                answer = await self.client.get(f"{self.stack['stats'].url}/v1/scopes/city:{month}")
                answer.raise_for_status()
                month_counts: dict[str, int] = answer.json()["counts"]
            except (httpx.HTTPError, KeyError, ValueError):
                return {}
            for name, value in month_counts.items():
                counts[name] = counts.get(name, 0) + value
        return counts

    def _counted(self, counts: dict[str, Any]) -> bool:
        alerted = self.offered - len(self.linked)
        return bool(
            counts.get("received", 0) >= self.offered
            and counts.get("routed", 0) >= alerted
            and counts.get("notifications_sent", 0) >= DELIVERIES * alerted
        )

    async def _summary(
        self,
        path: str,
        rate: float | None,
        ids: list[str],
        accepted: dict[str, float],
        started: float,
        finished: float | None,
        before: Snapshot,
        counts: dict[str, Any],
    ) -> dict[str, Any]:
        after = await self._snapshot()
        latencies = sorted(
            (self.arrivals[i] - accepted[i]) * 1000
            for i in ids
            if i in self.arrivals and i in accepted
        )
        return summarise(
            path=path,
            offered_per_s=rate,
            complaints=len(ids),
            delivered=sum(1 for i in ids if i in self.arrivals),
            latencies_ms=latencies,
            started=started,
            first_done=min((self.arrivals[i] for i in ids if i in self.arrivals), default=None),
            finished=finished,
            cpu_ms_per_complaint=CpuMeter.per_complaint(before.cpu, after.cpu, len(ids)),
            cores_busy=CpuMeter.cores_busy(before.cpu, after.cpu),
            db_commands_per_complaint=commands_per_complaint(
                before.commands, after.commands, len(ids)
            ),
            linked=sum(1 for i in ids if i in self.linked),
            mails=after.mails - before.mails,
            stats_counts={k: counts.get(k) for k in ("received", "routed", "notifications_sent")},
        )

    # -- what the pipeline keeps -------------------------------------------------------

    async def documents_per_complaint(self) -> dict[str, dict[str, float]]:
        """Documents stored now per complaint offered, by service (the collection
        name's first word) and collection: a check of the baseline's shape."""
        found: dict[str, dict[str, float]] = {}
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.infra.mongodb_url)
        try:
            db = client[self.database]
            for name in sorted(await db.list_collection_names()):
                count = await db[name].estimated_document_count()
                service = name.split("_", 1)[0]
                found.setdefault(service, {})[name] = round(count / max(self.offered, 1), 3)
        finally:
            await client.close()
        return found
