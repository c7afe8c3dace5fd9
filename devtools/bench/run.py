"""``make bench``: throughput, latency and CPU cost of the pipeline, next to a raw
aiokafka baseline measured on the same broker in the same run.

Every complaint names a compound of its own, so none is linked as a duplicate and
each yields exactly one webhook alert (to the fallback desk, which also gets an e-mail
on a loopback SMTP server): "done" means the webhook arrived
at the receiver. Results go to the terminal, to a JSON file, and into
docs/benchmarks.md when asked (``--write-doc``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from devtools.bench.baseline import run_baseline
from devtools.infra import Infra, start_local_infra, stop_local_infra
from devtools.loopback import free_port
from devtools.receivers import HttpReceiver, ReceivedRequest, SmtpReceiver
from devtools.samples import complaint
from devtools.stack import REPO, Stack
from services.intake.settings import DEMO_API_KEY
from shared.ids import complaint_id_for
from shared.topics import INGRESS_COMPLAINTS

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Arrivals:
    """When each complaint's alert reached the receiver (monotonic clock)."""

    at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, request: ReceivedRequest) -> None:
        try:
            complaint_id = request.json()["complaint_id"]
        except (ValueError, KeyError):
            return
        with self.lock:
            self.at.setdefault(complaint_id, request.at)

    def count(self, ids: set[str]) -> int:
        with self.lock:
            return sum(1 for i in ids if i in self.at)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Bench:
    def __init__(self, infra: Infra, log_dir: Path) -> None:
        self.infra = infra
        self.arrivals = Arrivals()
        self.receiver = HttpReceiver(on_request=self.arrivals.record).start()
        # The fallback desk is alerted by webhook and by e-mail: both must really go out.
        self.smtp = SmtpReceiver().start()
        self.prefix = f"bench{int(time.time())}."
        self.rng = random.Random(42)
        self.sequence = 0
        self.total = 0
        ports = {name: free_port() for name in ("intake", "routing", "notify", "stats")}
        self.stack = Stack(
            env=infra.service_env(
                KAFKA_TOPIC_PREFIX=self.prefix,
                MONGODB_DATABASE="gongzhi_bench",
                GONGZHI_ENVIRONMENT="test",
                GONGZHI_ALERT_BASE_URL=self.receiver.url,
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

    def bodies(self, count: int, run: str) -> list[dict[str, Any]]:
        made = []
        for _ in range(count):
            self.sequence += 1
            made.append(
                complaint(
                    self.sequence,
                    self.rng,
                    run=f"{self.prefix}{run}",
                    compound_id=f"bench-{self.sequence}",
                )
            )
        return made

    def cpu(self) -> dict[str, float]:
        return {p.name: cpu_seconds(p.process.pid) for p in self.stack.processes if p.process}

    async def wait_done(self, ids: set[str], timeout: float, bar: tqdm[Any]) -> float | None:
        """When every alert arrived and stats counted every complaint (None if that did
        not happen within ``timeout``)."""
        self.total += len(ids)
        deadline = time.monotonic() + timeout
        alerted: float | None = None
        async with httpx.AsyncClient(base_url=self.stack["stats"].url, timeout=30) as stats:
            while time.monotonic() < deadline:
                done = self.arrivals.count(ids)
                bar.n = done
                bar.refresh()
                if alerted is None and done == len(ids):
                    with self.arrivals.lock:
                        alerted = max(self.arrivals.at[i] for i in ids)
                if alerted is not None:
                    figures = (await stats.get("/v1/stats")).json()
                    if figures["counts"]["received"] >= self.total:
                        return max(alerted, time.monotonic())
                # Recounting a month is heavy for stats: ask seldom once the alerts are in.
                await asyncio.sleep(0.2 if alerted is None else 1.0)
        return None

    async def kafka_step(self, rate: float, seconds: float) -> dict[str, Any]:
        """Offer ``rate`` complaints/s on ingress.complaints for ``seconds``."""
        bodies = self.bodies(int(rate * seconds), f"k{rate}")
        ids = {complaint_id_for(b["source"], b["source_ref"]) for b in bodies}
        sent: dict[str, float] = {}
        producer = AIOKafkaProducer(
            bootstrap_servers=self.infra.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        await producer.start()
        cpu_before = self.cpu()
        started = time.monotonic()
        bar = tqdm(
            total=len(bodies), desc=f"ingress {rate:>5.0f}/s", unit="c", leave=False, disable=None
        )
        try:
            for index, body in enumerate(bodies):
                target = started + index / rate
                if (delay := target - time.monotonic()) > 0:
                    await asyncio.sleep(delay)
                key = f"{body['source']}:{body['source_ref']}"
                await producer.send(
                    f"{self.prefix}{INGRESS_COMPLAINTS}", orjson.dumps(body), key=key.encode()
                )
                sent[complaint_id_for(body["source"], body["source_ref"])] = time.monotonic()
            await producer.flush()
        finally:
            await producer.stop()
        finished = await self.wait_done(ids, timeout=max(120.0, seconds * 6), bar=bar)
        bar.close()
        cpu_after = self.cpu()
        return self.summarise("ingress", rate, ids, sent, started, finished, cpu_before, cpu_after)

    async def http_step(self, concurrency: int, count: int) -> dict[str, Any]:
        """As fast as ``concurrency`` clients can post: intake's request rate, and the
        end-to-end rate to the alert."""
        bodies = self.bodies(count, f"h{concurrency}")
        ids: set[str] = set()
        sent: dict[str, float] = {}
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        cpu_before = self.cpu()
        bar = tqdm(total=count, desc=f"http x{concurrency}", unit="c", leave=False, disable=None)
        started = time.monotonic()
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=self.stack["intake"].url, timeout=60, limits=limits
        ) as client:

            async def worker() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    answer = await client.post("/v1/complaints", json=body, headers=AUTH)
                    answer.raise_for_status()
                    complaint_id = answer.json()["complaint_id"]
                    sent[complaint_id] = time.monotonic()
                    ids.add(complaint_id)
                    bar.update()

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        accepted_in = time.monotonic() - started
        bar.reset(total=count)
        finished = await self.wait_done(ids, timeout=300, bar=bar)
        bar.close()
        cpu_after = self.cpu()
        result = self.summarise("http", None, ids, sent, started, finished, cpu_before, cpu_after)
        result["http_requests_per_s"] = round(count / accepted_in, 1)
        return result

    def summarise(
        self,
        path: str,
        rate: float | None,
        ids: set[str],
        sent: dict[str, float],
        started: float,
        finished: float | None,
        cpu_before: dict[str, float],
        cpu_after: dict[str, float],
    ) -> dict[str, Any]:
        with self.arrivals.lock:
            latencies = sorted(
                (self.arrivals.at[i] - sent[i]) * 1000 for i in ids if i in self.arrivals.at
            )
        quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
        delivered = len(latencies)
        elapsed = (finished or time.monotonic()) - started
        return {
            "path": path,
            "offered_per_s": rate,
            "complaints": len(ids),
            "delivered": delivered,
            "throughput_per_s": round(delivered / elapsed, 1),
            "latency_ms": {
                "p50": round(quantiles[49], 1),
                "p95": round(quantiles[94], 1),
                "p99": round(quantiles[98], 1),
            },
            "cpu_ms_per_complaint": {
                name: round(
                    (cpu_after[name] - cpu_before.get(name, 0)) * 1000 / max(len(ids), 1), 2
                )
                for name in cpu_after
            },
        }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="gongzhi-bench-"))
    infra = start_local_infra(root)
    try:
        print("bench: raw aiokafka baseline (3 hops + counter write) ...")
        rng = random.Random(1)
        messages = [
            (f"k{i}".encode(), orjson.dumps(complaint(i, rng, run="baseline")))
            for i in range(args.baseline_messages)
        ]
        baseline = await run_baseline(
            infra.bootstrap_servers, infra.mongodb_url, f"base{int(time.time())}.", messages
        )
        print(f"bench: baseline {baseline:.0f} messages/s end to end")
        bench = Bench(infra, root / "logs")
        bench.stack.start_all()
        steps: list[dict[str, Any]] = []
        try:
            for rate in args.rates:
                step = await bench.kafka_step(rate, args.seconds)
                steps.append(step)
                print(format_step(step))
                if step["throughput_per_s"] < 0.9 * rate:
                    print(f"bench: saturated at {rate}/s offered")
                    break
            http = await bench.http_step(args.concurrency, args.http_complaints)
            print(format_step(http))
        finally:
            bench.stack.stop_all()
            bench.receiver.stop()
            bench.smtp.stop()
    finally:
        stop_local_infra(infra)
    best = max(steps, key=lambda s: s["throughput_per_s"])
    return {
        "at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "baseline_per_s": round(baseline, 1),
        "sustained_ingress_per_s": best["throughput_per_s"],
        "ratio_to_baseline": round(best["throughput_per_s"] / baseline, 3),
        "http_requests_per_s": http["http_requests_per_s"],
        "steps": [*steps, http],
    }


def format_step(step: dict[str, Any]) -> str:
    offered = f"{step['offered_per_s']:>6.0f}/s" if step["offered_per_s"] else "  max   "
    latency = step["latency_ms"]
    cpu = " ".join(f"{k}={v}" for k, v in step["cpu_ms_per_complaint"].items())
    extra = f" http {step['http_requests_per_s']} req/s" if "http_requests_per_s" in step else ""
    return (
        f"{step['path']:<8}{offered} {step['delivered']:>6}/{step['complaints']:<6} "
        f"{step['throughput_per_s']:>8.1f}/s  p50 {latency['p50']:>8.1f} p95 {latency['p95']:>8.1f} "
        f"p99 {latency['p99']:>8.1f} ms  cpu ms/complaint: {cpu}{extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the pipeline against a baseline.")
    parser.add_argument("--rates", type=float, nargs="+", default=[25, 50, 100, 200, 500, 1000])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--http-complaints", type=int, default=2000)
    parser.add_argument("--baseline-messages", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=REPO / ".local" / "bench")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(
        f"\nsustained {results['sustained_ingress_per_s']}/s through ingress.complaints = "
        f"{results['ratio_to_baseline']} of the raw baseline ({results['baseline_per_s']}/s); "
        f"HTTP intake {results['http_requests_per_s']} req/s\nresults: {path}"
    )


if __name__ == "__main__":
    main()
