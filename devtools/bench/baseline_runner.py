"""Runs the fair baseline (``devtools.bench.baseline``) as four processes, one per stage
like the services, and offers it the same steps as the pipeline: paced rates, then a
burst. A message is done when the counting stage stored its received, its routed and
every outcome; latency runs from the load generator's send to notify's outcome."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from tqdm import tqdm

from devtools.bench.baseline import SENT_HEADER, STAGES, Shape, Topics, stamp
from devtools.bench.costs import CpuMeter, infra_pids
from devtools.bench.load import offer
from devtools.bench.report import summarise
from devtools.infra import Infra
from devtools.stack import REPO, tail
from shared.settings import KafkaSettings

READY_TIMEOUT = 90.0


class StageError(RuntimeError):
    pass


def batch_figures(batches: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per stage: batches handled, mean records per batch and mean milliseconds per
    batch spent writing, awaiting the sends (and deleting notify's open markers), and
    committing."""
    figures: dict[str, dict[str, float]] = {}
    for stage in STAGES:
        mine = [b for b in batches if b.get("stage") == stage]
        if not mine:
            continue
        count = len(mine)
        figures[stage] = {
            "batches": count,
            "records_per_batch": round(sum(b["batch"] for b in mine) / count, 1),
            **{
                key: round(sum(b[key] for b in mine) / count, 2)
                for key in ("write_ms", "send_ms", "commit_ms")
            },
        }
    return figures


class BaselineRun:
    def __init__(self, infra: Infra, infra_root: Path, log_dir: Path, shape: Shape) -> None:
        self.infra = infra
        self.infra_root = infra_root
        self.log_dir = log_dir
        self.shape = shape
        run = f"{int(time.time())}{uuid.uuid4().hex[:4]}"
        self.topics = Topics(f"base{run}.")
        self.database = f"bench_baseline_{run}"
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self.ready: set[str] = set()
        self.commands: dict[str, int] = dict.fromkeys(STAGES, 0)
        self.done = 0
        self.done_at = 0.0
        self.done_times: list[tuple[float, int]] = []
        """``(when, done so far)`` at each report that moved ``done``."""
        self.latencies: list[float] = []
        self.batches: list[dict[str, Any]] = []
        self.meter = CpuMeter({})
        self._readers: list[asyncio.Task[None]] = []

    def log_path(self, stage: str) -> Path:
        return self.log_dir / f"baseline-{stage}.log"

    async def start(self) -> None:
        await self._create_topics()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for stage in STAGES:
            with self.log_path(stage).open("ab") as log:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "devtools.bench.baseline",
                    stage,
                    "--bootstrap",
                    self.infra.bootstrap_servers,
                    "--mongodb-url",
                    self.infra.mongodb_url,
                    "--database",
                    self.database,
                    "--prefix",
                    self.topics.prefix,
                    "--deliveries",
                    str(self.shape.deliveries),
                    cwd=REPO,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=log,
                    start_new_session=True,
                )
            self.processes[stage] = process
            self._readers.append(asyncio.create_task(self._read(stage, process)))
        deadline = time.monotonic() + READY_TIMEOUT
        while len(self.ready) < len(STAGES):
            self._check_alive()
            if time.monotonic() > deadline:
                missing = sorted(set(STAGES) - self.ready)
                raise StageError(f"baseline stages not ready after {READY_TIMEOUT}s: {missing}")
            await asyncio.sleep(0.1)
        pids = {stage: p.pid for stage, p in self.processes.items()}
        self.meter = CpuMeter({**pids, **infra_pids(self.infra_root), "bench": os.getpid()})

    async def _create_topics(self) -> None:
        partitions = KafkaSettings().topic_partitions
        admin = AIOKafkaAdminClient(bootstrap_servers=self.infra.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, partitions, 1) for name in self.topics.all()])
        finally:
            await admin.close()

    async def _read(self, stage: str, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            try:
                said: dict[str, Any] = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if said.get("ready"):
                self.ready.add(stage)
                continue
            self.commands[stage] = int(said.get("commands", 0))
            self.batches.append(said)
            if stage == "stats" and said.get("done", 0) > self.done:
                self.done = int(said["done"])
                self.done_at = time.monotonic()
                self.done_times.append((self.done_at, self.done))
                self.latencies.extend(said.get("latencies_ms", []))

    def _check_alive(self) -> None:
        for stage, process in self.processes.items():
            if process.returncode is not None:
                raise StageError(
                    f"baseline {stage} exited with {process.returncode}; see "
                    f"{self.log_path(stage)}:\n{tail(self.log_path(stage))}"
                )

    async def step(
        self, rate: float | None, bodies: list[dict[str, Any]], timeout: float, stall: float
    ) -> dict[str, Any]:
        """Offer ``bodies`` on the baseline's ingress at ``rate`` per second (None: at once)."""
        records = [(f"{b['source']}:{b['source_ref']}".encode(), orjson.dumps(b)) for b in bodies]
        done_before = self.done
        target = done_before + len(records)
        first_latency = len(self.latencies)
        first_batch = len(self.batches)
        commands_before = dict(self.commands)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.infra.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        await producer.start()
        label = f"baseline {rate:g}/s" if rate is not None else "baseline burst"
        try:
            cpu_before = self.meter.sample(time.monotonic())
            started = time.monotonic()
            sending = asyncio.create_task(
                offer(
                    producer,
                    self.topics.ingress,
                    records,
                    rate,
                    stamp=lambda at: [(SENT_HEADER, stamp(at))],
                )
            )
            finished = await self._wait(target, len(records), sending, label, timeout, stall)
            await sending
        finally:
            await producer.stop()
        cpu_after = self.meter.sample(time.monotonic())
        count = len(records)
        return summarise(
            path="baseline",
            offered_per_s=rate,
            complaints=count,
            delivered=count - max(target - self.done, 0),
            latencies_ms=sorted(self.latencies[first_latency:]),
            started=started,
            # The first report of the step: it names when its first messages were done.
            first_done=next((at for at, done in self.done_times if done > done_before), None),
            finished=finished,
            cpu_ms_per_complaint=CpuMeter.per_complaint(cpu_before, cpu_after, count),
            cores_busy=CpuMeter.cores_busy(cpu_before, cpu_after),
            db_commands_per_complaint={
                stage: {"total": round((self.commands[stage] - commands_before[stage]) / count, 4)}
                for stage in STAGES
            },
            stages=batch_figures(self.batches[first_batch:]),
        )

    async def _wait(
        self,
        target: int,
        count: int,
        sending: asyncio.Task[float],
        label: str,
        timeout: float,
        stall: float,
    ) -> float | None:
        deadline = time.monotonic() + timeout
        last_move, last_done = time.monotonic(), -1
        with tqdm(total=count, desc=label, unit="m", leave=False, disable=None) as bar:
            while True:
                self._check_alive()
                if sending.done() and sending.exception() is not None:
                    sending.result()
                bar.n = count - max(target - self.done, 0)
                bar.refresh()
                if self.done >= target:
                    return self.done_at
                now = time.monotonic()
                if self.done != last_done:
                    last_move, last_done = now, self.done
                if now > deadline or now - last_move > stall:
                    return None
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.terminate()
        for process in self.processes.values():
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        for reader in self._readers:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
