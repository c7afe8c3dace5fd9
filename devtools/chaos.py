"""``make chaos``: complaints flow while every service is SIGKILLed and restarted, the
broker restarts and the database goes away for ten seconds; then the invariants are
checked exactly, the way Kafka's own system tests check delivery.

Invariants: every accepted complaint routed once (by event id) or linked once as a
duplicate; one distinct alert per assignment at the receiver (physical resends, which
only a kill inside the send window can cause, are counted); exactly one committed
``hotspots.detected`` per hot spot, though two routing copies share the detection and
are killed, and one alert per hot spot and alerted responder; stats counts exactly the
accepted complaints and acknowledgements; no full phone number in any log."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer

from devtools.infra import Infra, start_local_infra, stop_local_infra
from devtools.loopback import free_port, produce
from devtools.receivers import HttpReceiver, SmtpReceiver
from devtools.samples import ComplaintMix
from devtools.stack import Stack
from services.intake.settings import DEMO_API_KEY
from services.stats.periods import month_of, zone
from services.stats.settings import DEFAULT_TIMEZONE
from shared.ids import complaint_id_for
from shared.privacy import contains_full_phone
from shared.topics import (
    COMPLAINTS_RECEIVED,
    COMPLAINTS_REJECTED,
    COMPLAINTS_ROUTED,
    COMPLAINTS_UPDATED,
    HOTSPOTS_DETECTED,
    INGRESS_COMPLAINTS,
    INGRESS_UPDATES,
    dead_letter_topic,
)

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
SERVICES = ("intake", "routing", "notify", "stats")
DUPLICATE_SHARE = 0.1
"""Of the complaints sent: retellings of a problem already reported (see ComplaintMix)."""

STATS_TZ = zone(DEFAULT_TIMEZONE)


@dataclass
class ChaosReport:
    complaints_offered: int = 0
    accepted: int = 0
    routed: int = 0
    linked_duplicates: int = 0
    lost: list[str] = field(default_factory=list)
    routed_twice: list[str] = field(default_factory=list)
    acknowledgements_sent: int = 0
    # What routing made of the acknowledgements: applied (complaints.updated) or refused
    # (complaints.rejected, with the reasons), so a gap is pinned on the right service.
    routing_acknowledged: int = 0
    updates_refused: list[str] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    stats_received: int = 0
    stats_acknowledged: int = 0
    recount_received: int = 0
    recount_acknowledged: int = 0
    alerts_expected: int = 0
    alerts_distinct: int = 0
    alerts_missing: int = 0
    missing_examples: list[str] = field(default_factory=list)
    alerts_unexpected: int = 0
    alert_resends: int = 0
    hotspots_detected: int = 0
    hotspots_detected_twice: list[str] = field(default_factory=list)
    hotspot_alerts_expected: int = 0
    hotspot_alerts_missing: int = 0
    hotspot_alerts_doubled: int = 0
    kills: dict[str, int] = field(default_factory=dict)
    broker_restarts: int = 0
    database_pauses: int = 0
    redelivered_events: int = 0
    http_retries: int = 0
    phone_leaks: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            not self.lost
            and not self.routed_twice
            and self.alerts_missing == 0
            and self.alerts_unexpected == 0
            and not self.hotspots_detected_twice
            and self.hotspot_alerts_missing == 0
            and self.hotspot_alerts_doubled == 0
            and self.stats_received == self.accepted
            and self.routing_acknowledged == self.acknowledgements_sent
            and self.stats_acknowledged == self.acknowledgements_sent
            and self.recount_received == self.stats_received
            and self.recount_acknowledged == self.stats_acknowledged
            and not self.updates_refused
            and not self.dead_letters
            and not self.phone_leaks
        )


class Chaos:
    def __init__(
        self,
        infra: Infra,
        log_dir: Path,
        complaints: int,
        seed: int,
        duration: float,
        routing_copies: int = 2,
    ) -> None:
        self.infra = infra
        # Traffic is spread over the havoc, so that kills land while work is in flight.
        self.interval = duration / max(complaints, 1)
        self.rng = random.Random(seed)
        self.count = complaints
        self.receiver = HttpReceiver().start()
        self.smtp = SmtpReceiver().start()
        self.prefix = f"chaos{int(time.time())}."
        ports = {name: free_port() for name in SERVICES}
        self.stack = Stack(
            env=infra.service_env(
                KAFKA_TOPIC_PREFIX=self.prefix,
                MONGODB_DATABASE="gongzhi_chaos",
                GONGZHI_ENVIRONMENT="test",
                GONGZHI_ALERT_BASE_URL=self.receiver.url,
                GONGZHI_WEBHOOK_SECRET="chaos-secret",
                GONGZHI_SMTP_HOST="127.0.0.1",
                GONGZHI_SMTP_PORT=str(self.smtp.port),
                GONGZHI_PUBLIC_BASE_URL=f"http://127.0.0.1:{ports['stats']}",
                # Quick retries: deliveries failed while the SMTP server or a copy was
                # away go out soon after, within many attempts.
                GONGZHI_DELIVERY_RETRY_BASE_SECONDS="0.5",
                GONGZHI_DELIVERY_RETRY_CAP_SECONDS="5",
                GONGZHI_DELIVERY_MAX_ATTEMPTS="50",
                GONGZHI_SNAPSHOT_INTERVAL_SECONDS="1",
            ),
            log_dir=log_dir,
            ports=ports,
        )
        for name in ("routing", "intake", "notify", "stats"):
            self.stack.add(name)
        # A second routing copy: the hot-spot stage's partitions move between the two
        # as they are killed, and a hot spot must still be detected once.
        for _ in range(routing_copies - 1):
            self.stack.add("routing", port=free_port())
        self.report = ChaosReport(complaints_offered=complaints)
        self.accepted: set[str] = set()
        self.acked: set[str] = set()
        self.loading = True

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def reader(self, *topics: str) -> AIOKafkaConsumer:
        """A groupless consumer reading ``topics`` from the beginning (for checking)."""
        return AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self.infra.bootstrap_servers,
            auto_offset_reset="earliest",
            group_id=None,
        )

    async def run(self) -> ChaosReport:
        started = time.monotonic()
        self.stack.start_all()
        try:
            await asyncio.gather(self.load(), self.acknowledge_some(), self.havoc())
            # A large run drains its backlog after the traffic: allow for it.
            await self.settle(timeout=max(900.0, self.count * 0.25))
        finally:
            self.report.seconds = round(time.monotonic() - started, 1)
            self.stack.stop_all()
            self.receiver.stop()
            self.smtp.stop()
        self.scan_logs()
        return self.report

    # --- traffic -------------------------------------------------------------

    async def load(self) -> None:
        # Residents' own wordings, about one in ten retelling a problem already
        # reported: linked duplicates are a minority, as in a city.
        mix = ComplaintMix(self.rng, duplicate_share=DUPLICATE_SHARE)
        bodies = [
            mix.complaint(i, run=f"{self.prefix}{i}", source="hotline-12345")
            for i in range(self.count)
        ]
        half = self.count // 2
        kafka_part = bodies[half:]
        for body in kafka_part:
            self.accepted.add(complaint_id_for(body["source"], body["source_ref"]))
        producer = asyncio.create_task(self.produce_slowly(kafka_part))
        gate = asyncio.Semaphore(8)
        async with httpx.AsyncClient(timeout=10) as client:

            async def post(index: int, body: dict[str, Any]) -> None:
                await asyncio.sleep(index * 2 * self.interval)
                async with gate:
                    while True:  # a client keeps trying until intake says accepted
                        try:
                            answer = await client.post(
                                f"{self.stack['intake'].url}/v1/complaints",
                                json=body,
                                headers=AUTH,
                            )
                            if answer.status_code == 202:
                                self.accepted.add(answer.json()["complaint_id"])
                                return
                        except httpx.HTTPError:
                            pass
                        self.report.http_retries += 1
                        await asyncio.sleep(0.5)

            await asyncio.gather(*(post(i, body) for i, body in enumerate(bodies[:half])))
        await producer
        self.report.accepted = len(self.accepted)
        self.loading = False

    async def produce_slowly(self, bodies: list[dict[str, Any]]) -> None:
        for start in range(0, len(bodies), 50):
            chunk = bodies[start : start + 50]
            await self.retrying_produce(
                self.topic(INGRESS_COMPLAINTS),
                [(f"{b['source']}:{b['source_ref']}".encode(), orjson.dumps(b)) for b in chunk],
            )
            await asyncio.sleep(len(chunk) * 2 * self.interval)

    async def retrying_produce(self, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
        while True:
            try:
                await produce(self.infra.bootstrap_servers, topic, messages)
                return
            except Exception:  # the broker may be restarting
                await asyncio.sleep(1)

    async def acknowledge_some(self) -> None:
        """The lead acknowledges every fourth routed complaint, over ``ingress.updates``."""
        consumer = self.reader(self.topic(COMPLAINTS_ROUTED))
        await consumer.start()
        try:
            idle_since = time.monotonic()
            while self.loading or time.monotonic() - idle_since < 20:
                try:
                    batch = await consumer.getmany(timeout_ms=500)
                except Exception:
                    await asyncio.sleep(1)
                    continue
                updates = []
                for records in batch.values():
                    for record in records:
                        idle_since = time.monotonic()
                        event = json.loads(record.value)
                        cid = event["complaint_id"]
                        if event["round"] == 1 and cid not in self.acked and hash(cid) % 4 == 0:
                            self.acked.add(cid)
                            update = {
                                "complaint_id": cid,
                                "type": "acknowledged",
                                "actor_id": event["lead"]["responder_id"],
                            }
                            updates.append((cid.encode(), orjson.dumps(update)))
                if updates:
                    await self.retrying_produce(self.topic(INGRESS_UPDATES), updates)
        finally:
            await consumer.stop()
        self.report.acknowledgements_sent = len(self.acked)

    # --- havoc ---------------------------------------------------------------

    async def havoc(self) -> None:
        """Kill each service at least three times, restart the broker once, pause the
        database for ten seconds, at random moments while traffic flows."""
        plan: list[str] = [name for name in SERVICES for _ in range(3)] + ["broker", "database"]
        self.rng.shuffle(plan)
        kills: Counter[str] = Counter()
        for action in plan:
            await asyncio.sleep(self.rng.uniform(2, 6))
            if action == "broker":
                await asyncio.to_thread(self.infra.run, "kafka.sh", "stop")
                await asyncio.to_thread(self.infra.run, "kafka.sh", "start")
                self.report.broker_restarts += 1
            elif action == "database":
                await asyncio.to_thread(self.infra.run, "ferretdb.sh", "stop")
                await asyncio.sleep(10)
                await asyncio.to_thread(self.infra.run, "ferretdb.sh", "start")
                self.report.database_pauses += 1
            else:
                victims = [p for p in self.stack.processes if p.name == action]
                victim = self.rng.choice(victims)
                victim.kill()
                kills[action] += 1
                await asyncio.sleep(self.rng.uniform(0.5, 2))
                victim.start()
                await asyncio.to_thread(victim.wait_healthy, 120)
        self.report.kills = dict(kills)

    # --- verdict ---------------------------------------------------------------

    async def settle(self, timeout: float = 900) -> None:
        """Wait until every accepted complaint is routed or linked, then check."""
        deadline = time.monotonic() + timeout
        routed: dict[str, set[str]] = defaultdict(set)
        linked: set[str] = set()
        seen_events: Counter[str] = Counter()
        consumer = self.reader(
            self.topic(COMPLAINTS_RECEIVED),
            self.topic(COMPLAINTS_ROUTED),
            self.topic(COMPLAINTS_UPDATED),
        )
        await consumer.start()
        try:
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    for record in records:
                        event = json.loads(record.value)
                        seen_events[event["event_id"]] += 1
                        if record.topic.endswith(COMPLAINTS_ROUTED) and event["round"] == 1:
                            routed[event["complaint_id"]].add(event["event_id"])
                        if (
                            record.topic.endswith(COMPLAINTS_UPDATED)
                            and event["type"] == "duplicate_linked"
                        ):
                            linked.add(event["complaint_id"])
                if not batch and self.accepted <= set(routed) | linked:
                    break
        finally:
            await consumer.stop()
        report = self.report
        report.routed, report.linked_duplicates = len(routed), len(linked)
        report.lost = sorted(self.accepted - set(routed) - linked)
        report.routed_twice = sorted(c for c, ids in routed.items() if len(ids) > 1)
        report.redelivered_events = sum(n - 1 for n in seen_events.values() if n > 1)
        catch_up = max(300.0, self.count * 0.05)
        await self.check_alerts(timeout=catch_up)
        await self.check_hotspots(timeout=catch_up)
        await self.check_outcomes()
        await self.check_counts(timeout=catch_up)

    async def check_alerts(self, timeout: float = 300) -> None:
        expected: set[tuple[str, str]] = set()
        consumer = self.reader(self.topic(COMPLAINTS_ROUTED))
        await consumer.start()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=2000)
                if not batch:
                    break
                for records in batch.values():
                    for record in records:
                        event = json.loads(record.value)
                        for who in [event["lead"], *event["support"]]:
                            expected.add((event["complaint_id"], who["responder_id"]))
        finally:
            await consumer.stop()

        def routed_alerts() -> Counter[tuple[str, str]]:
            return Counter(
                (r.json()["complaint_id"], r.json()["responder_id"])
                for r in self.receiver.accepted("/hooks/")
                if r.json().get("reason") in ("routed", "rerouted")
            )

        deadline = time.monotonic() + timeout
        alerts = routed_alerts()
        while time.monotonic() < deadline:
            if expected <= set(alerts):
                break
            await asyncio.sleep(2)
            alerts = routed_alerts()
        deliveries = Counter(
            r.headers.get("x-gongzhi-delivery-id") for r in self.receiver.accepted("/hooks/")
        )
        self.report.alerts_expected = len(expected)
        self.report.alerts_distinct = len(set(alerts) & expected)
        self.report.alerts_missing = len(expected - set(alerts))
        self.report.missing_examples = [f"{c} → {r}" for c, r in sorted(expected - set(alerts))[:5]]
        self.report.alerts_unexpected = len(set(alerts) - expected)
        self.report.alert_resends = sum(n - 1 for n in deliveries.values() if n > 1)

    async def check_hotspots(self, timeout: float = 300) -> None:
        """Committed detections per hot spot, and the alerts each one called for."""
        consumer = AIOKafkaConsumer(
            self.topic(HOTSPOTS_DETECTED),
            bootstrap_servers=self.infra.bootstrap_servers,
            auto_offset_reset="earliest",
            group_id=None,
            isolation_level="read_committed",
        )
        detections: Counter[str] = Counter()
        expected: set[tuple[str, str]] = set()
        await consumer.start()
        try:
            while batch := await consumer.getmany(timeout_ms=3000):
                for records in batch.values():
                    for record in records:
                        event = json.loads(record.value)
                        detections[event["hotspot_id"]] += 1
                        for who in event["alerted"]:
                            expected.add((event["hotspot_id"], who["responder_id"]))
        finally:
            await consumer.stop()

        def hotspot_alerts() -> dict[tuple[str, str], set[str]]:
            found: dict[tuple[str, str], set[str]] = defaultdict(set)
            for r in self.receiver.accepted("/hooks/"):
                alert = r.json()
                if alert.get("reason") == "hotspot":
                    found[(alert["hotspot_id"], alert["responder_id"])].add(alert["delivery_id"])
            return found

        deadline = time.monotonic() + timeout
        alerts = hotspot_alerts()
        while time.monotonic() < deadline:
            if expected <= set(alerts):
                break
            await asyncio.sleep(2)
            alerts = hotspot_alerts()
        report = self.report
        report.hotspots_detected = len(detections)
        report.hotspots_detected_twice = sorted(h for h, n in detections.items() if n > 1)
        report.hotspot_alerts_expected = len(expected)
        report.hotspot_alerts_missing = len(expected - set(alerts))
        report.hotspot_alerts_doubled = sum(1 for ids in alerts.values() if len(ids) > 1)

    async def check_outcomes(self) -> None:
        """What became of the acknowledgements, and whether anything was dead-lettered."""
        dead_letter_topics = [self.topic(dead_letter_topic(name)) for name in SERVICES]
        consumer = self.reader(
            self.topic(COMPLAINTS_UPDATED), self.topic(COMPLAINTS_REJECTED), *dead_letter_topics
        )
        acknowledged: set[str] = set()
        dead_letters: Counter[str] = Counter()
        await consumer.start()
        try:
            while batch := await consumer.getmany(timeout_ms=3000):
                for records in batch.values():
                    for record in records:
                        if record.topic in dead_letter_topics:
                            dead_letters[record.topic.removeprefix(self.prefix)] += 1
                            continue
                        event = json.loads(record.value)
                        if record.topic.endswith(COMPLAINTS_UPDATED):
                            if event["type"] == "acknowledged":
                                acknowledged.add(event["complaint_id"])
                        elif event["kind"] == "update":
                            self.report.updates_refused.append(
                                f"{event['complaint_id']}: "
                                + "; ".join(r["message"] for r in event["reasons"])
                            )
        finally:
            await consumer.stop()
        self.report.routing_acknowledged = len(acknowledged)
        self.report.dead_letters = dict(dead_letters)

    async def check_counts(self, timeout: float = 300) -> None:
        """Stats' running figures (the city's tallies) until they count every complaint
        and acknowledgement, then one recount from the stored facts, which must agree.
        Polled on the tallies: a recount scans the month's every stored fact, and one
        every few seconds would hold back the counting it is waiting for."""
        month = month_of(datetime.now(UTC), STATS_TZ)
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.stack["stats"].url, timeout=30) as client:
            while time.monotonic() < deadline:
                try:
                    counts = (await client.get(f"/v1/scopes/city:{month}")).json()["counts"]
                    self.report.stats_received = int(counts["received"])
                    self.report.stats_acknowledged = int(counts["acknowledged"])
                    if (
                        self.report.stats_received == self.report.accepted
                        and self.report.stats_acknowledged == self.report.acknowledgements_sent
                    ):
                        break
                except (httpx.HTTPError, KeyError, ValueError):
                    pass
                await asyncio.sleep(2)
            recount = await client.get("/v1/stats", params={"period": month}, timeout=300)
            counts = recount.json()["counts"]
            self.report.recount_received = int(counts["received"])
            self.report.recount_acknowledged = int(counts["acknowledged"])

    def scan_logs(self) -> None:
        for path in sorted(self.stack.log_dir.glob("*.log")):
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if contains_full_phone(line):
                    self.report.phone_leaks.append(f"{path.name}:{number}")


async def run_chaos(
    complaints: int, seed: int = 1, log_dir: Path | None = None, duration: float | None = None
) -> ChaosReport:
    """Run the whole chaos scenario on a private infrastructure; ``duration`` is how long
    the traffic is spread over (default: long enough for the havoc plan)."""
    root = Path(tempfile.mkdtemp(prefix="gongzhi-chaos-"))
    infra = start_local_infra(root)
    try:
        spread = duration if duration is not None else max(90.0, complaints / 50)
        chaos = Chaos(infra, log_dir or root / "logs", complaints, seed, spread)
        return await chaos.run()
    finally:
        stop_local_infra(infra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, help="seconds to spread the traffic over")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    report = asyncio.run(run_chaos(args.complaints, args.seed, duration=args.duration))
    figures = asdict(report)
    for key in (
        "lost",
        "routed_twice",
        "hotspots_detected_twice",
        "updates_refused",
        "phone_leaks",
    ):
        figures[key] = len(figures[key])
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False))
    print("chaos: OK" if report.ok else "chaos: INVARIANT BROKEN")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
