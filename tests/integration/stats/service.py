"""Running stats as a real process against the test's Kafka and MongoDB-protocol server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from shared.auth import DEMO_API_KEY
from shared.events import Event
from shared.settings import KafkaSettings, MongoSettings
from tests.support import REPO, Infra, free_port, produce, wait_for


class StatsProcess:
    def __init__(
        self, infra: Infra, kafka: KafkaSettings, mongo: MongoSettings, log: Path, **env: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = infra.service_env(
            KAFKA_TOPIC_PREFIX=kafka.topic_prefix,
            MONGODB_DATABASE=mongo.database,
            GONGZHI_HTTP_PORT=str(self.port),
            GONGZHI_SNAPSHOT_INTERVAL_SECONDS="0.5",
            **env,
        )
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> StatsProcess:
        self.spawn()
        await wait_for(self.healthy, timeout=60)
        return self

    def spawn(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.stats"],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"stats exited: {self.log.read_text()[-3000:]}")
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{self.url}/health")).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """A crash: no graceful shutdown, no offset commit of work in flight."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(25)
            except subprocess.TimeoutExpired:
                self.kill()

    async def get(self, path: str, **params: Any) -> httpx.Response:
        """As an operator (the local stack's demo key reads everything)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            return await client.get(
                path, params=params, headers={"Authorization": f"Bearer {DEMO_API_KEY}"}
            )


async def publish(
    bootstrap: str, kafka: KafkaSettings, events: Iterable[tuple[str, Event]]
) -> None:
    by_topic: dict[str, list[tuple[bytes | None, bytes]]] = defaultdict(list)
    for topic, event in events:
        key = event.complaint_id.encode() if event.complaint_id else None
        by_topic[kafka.topic(topic)].append((key, event.model_dump_json().encode()))
    await asyncio.gather(*(produce(bootstrap, t, msgs) for t, msgs in by_topic.items()))
