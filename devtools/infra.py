"""A private Kafka + FerretDB pair on free loopback ports, controllable from Python.

Tests start one when no infrastructure is given; the chaos run starts one so that it
can restart the broker and pause the database without disturbing anything else."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from devtools.loopback import free_port

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "deploy" / "local"


@dataclass
class Infra:
    """Where the real Kafka broker and MongoDB-protocol server are."""

    bootstrap_servers: str
    mongodb_url: str
    started_here: bool = False
    env: dict[str, str] = field(default_factory=dict)

    def service_env(self, **extra: str) -> dict[str, str]:
        """Environment for a service process pointed at this infrastructure."""
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "MONGODB_URL": self.mongodb_url,
            "PYTHONUNBUFFERED": "1",
        }
        env.update(extra)
        return env

    def run(self, script: str, command: str) -> None:
        """``kafka.sh stop``, ``ferretdb.sh start`` … on this pair only."""
        subprocess.run(
            ["bash", str(SCRIPTS / script), command],
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def start_local_infra(root: Path) -> Infra:
    """Start a private Kafka and FerretDB on free ports with their data under ``root``."""
    kafka_port, controller_port, mongo_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "GONGZHI_LOCAL_DIR": str(root),
        "KAFKA_PORT": str(kafka_port),
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "FERRETDB_PORT": str(mongo_port),
        # Off unless asked for: a profile of FerretDB under load comes from its pprof port.
        "FERRETDB_DEBUG_PORT": os.environ.get("GONGZHI_BENCH_FERRETDB_DEBUG_PORT", "off"),
    }
    infra = Infra(
        bootstrap_servers=f"127.0.0.1:{kafka_port}",
        mongodb_url=f"mongodb://127.0.0.1:{mongo_port}/",
        started_here=True,
        env=env,
    )
    infra.run("infra.sh", "start")
    return infra


def stop_local_infra(infra: Infra) -> None:
    subprocess.run(["bash", str(SCRIPTS / "infra.sh"), "stop"], env=infra.env, check=False)
