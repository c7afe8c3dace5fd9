"""The four services as separate processes on the real broker and database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.loopback import free_port
from devtools.receivers import HttpReceiver, SmtpReceiver
from devtools.stack import Stack
from tests.support import Infra, unique_name

WEBHOOK_SECRET = "e2e-webhook-secret"


@dataclass
class Pipeline:
    stack: Stack
    receiver: HttpReceiver
    smtp: SmtpReceiver
    topic_prefix: str
    database: str
    bootstrap_servers: str
    mongodb_url: str

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def url(self, service: str) -> str:
        return self.stack[service].url


PipelineFactory = Callable[..., Pipeline]


@pytest.fixture
def start_pipeline(infra: Infra, tmp_path: Path) -> Iterator[PipelineFactory]:
    """Start receivers and the services; ``routing_copies`` runs several routing processes
    in one consumer group; ``env`` adds settings (e.g. ``GONGZHI_DUE_SCALE``)."""
    started: list[Pipeline] = []

    def start(routing_copies: int = 1, **env: str) -> Pipeline:
        receiver = HttpReceiver().start()
        smtp = SmtpReceiver().start()
        prefix, database = unique_name("e2e") + ".", unique_name("e2e")
        ports = {name: free_port() for name in ("intake", "routing", "notify", "stats")}
        stack = Stack(
            env=infra.service_env(
                KAFKA_TOPIC_PREFIX=prefix,
                MONGODB_DATABASE=database,
                KAFKA_TOPIC_PARTITIONS="2",
                GONGZHI_ENVIRONMENT="test",
                GONGZHI_ALERT_BASE_URL=receiver.url,
                GONGZHI_WEBHOOK_SECRET=WEBHOOK_SECRET,
                GONGZHI_SMTP_HOST="127.0.0.1",
                GONGZHI_SMTP_PORT=str(smtp.port),
                GONGZHI_PUBLIC_BASE_URL=f"http://127.0.0.1:{ports['stats']}",
                GONGZHI_INTAKE_URL=f"http://127.0.0.1:{ports['intake']}",
                GONGZHI_SNAPSHOT_INTERVAL_SECONDS="0.5",
                **env,
            ),
            log_dir=tmp_path / f"logs-{len(started)}",
            ports=ports,
        )
        for name in ("routing", "intake", "notify", "stats"):
            stack.add(name)
        for _ in range(routing_copies - 1):
            stack.add("routing", port=free_port())
        pipeline = Pipeline(
            stack, receiver, smtp, prefix, database, infra.bootstrap_servers, infra.mongodb_url
        )
        started.append(pipeline)
        stack.start_all()
        return pipeline

    yield start
    for pipeline in started:
        pipeline.stack.stop_all()
        pipeline.receiver.stop()
        pipeline.smtp.stop()
